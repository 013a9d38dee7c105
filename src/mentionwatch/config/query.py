"""Parse the boolean query language of DESIGN.md ("Matching rules") into a syntax tree.

One responsibility: query text → :class:`Node` (or :class:`QuerySyntaxError` with the 1-based
column of the problem), and a tree → its normalised text (:func:`render`). What a term matches
(folding, whole words, links, hashtags) is the matcher's business, not this module's: a term
here is just the text a user wrote, the way a keyword is.

The language::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          adjacency means AND
    unary    := "NOT" unary | near
    near     := primary ("NEAR/n" primary)*     both sides within n words, any order
    primary  := word | word* | "a phrase" | "(" or_expr ")"

so NEAR binds tightest, then NOT, then AND, then OR: ``a OR b AND c`` is ``a OR (b AND c)``
and ``NOT a b`` is ``(NOT a) AND b``. Operators are upper case only: ``and``, ``or``, ``not``
and ``near/3`` are plain words. A bare word runs until white space, a parenthesis or a double
quote, so ``AT&T``, ``C++``, ``#acme`` and ``@acmehq`` are single terms. ``acm*`` is a prefix
(at least 3 letters or digits before the ``*``; shorter prefixes would match a large share of
all words). A phrase keeps everything between its quotes literally, ``*`` included.

Two checks go beyond syntax, because they make a query useless rather than unparsable: a
query that can be true while none of its non-negated terms occurs (``NOT x``, ``a OR NOT b``)
would match nearly every post, and ``NOT NOT x`` is a typo more often than a wish.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from ..errors import ConfigError

__all__ = [
    "And",
    "Near",
    "Node",
    "Not",
    "Or",
    "QuerySyntaxError",
    "Term",
    "parse_query",
    "positive_terms",
    "render",
    "terms",
]

TermKind = Literal["word", "phrase", "prefix"]

MIN_PREFIX = 3  # letters or digits before a "*"
MAX_DEPTH = 50  # nested parentheses / NOTs: deeper is a mistake, and would recurse deeply


class QuerySyntaxError(ConfigError):
    """A query that cannot be used, with the 1-based ``column`` where the problem is.

    A :class:`ConfigError`, so a bad ``--query`` on the command line exits with status 2.
    """

    def __init__(
        self, message: str, column: int, query: str = "", *, kind: str = "syntax error"
    ) -> None:
        self.message = message
        self.column = column
        self.query = query
        self.kind = kind
        super().__init__(f"{kind} at column {column} of {query!r}: {message}")


# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------
# Columns are where a node starts in the query (1-based), for error messages only: they do not
# take part in equality, so the same query written twice gives equal trees.


@dataclass(frozen=True, slots=True)
class Term:
    """One thing to look for: a word (``acme``, ``#acme``, ``AT&T``), a ``"phrase"`` or a
    prefix (``acm*``). ``text`` is as written, without the quotes or the ``*``."""

    text: str
    kind: TermKind = "word"
    column: int = field(default=0, compare=False)

    @property
    def display(self) -> str:
        """The term as a user writes it in a query: ``acme``, ``"acme corp"``, ``acm*``."""
        if self.kind == "phrase":
            return f'"{self.text}"'
        if self.kind == "prefix":
            return self.text + "*"
        return self.text


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Near:
    """``left`` and ``right`` at most ``distance`` words apart (words strictly between the
    two), in either order. Each side is a term, an OR of terms, or another NEAR."""

    left: Node
    right: Node
    distance: int
    column: int = field(default=0, compare=False)


Node = Term | Not | And | Or | Near


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------

_Kind = Literal["(", ")", "AND", "OR", "NOT", "NEAR", "TERM", "END"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    column: int
    text: str = ""  # what the token looked like, for messages
    term: Term | None = None
    distance: int = 0


_OPERATORS: dict[str, _Kind] = {"AND": "AND", "OR": "OR", "NOT": "NOT"}
_NEAR_RE = re.compile(r"NEAR/(\d{1,6})")
_SPECIAL = '()"'


def _is_word_char(ch: str) -> bool:
    # Letters and digits (and "_", which the tokenizer also counts as a word character).
    return ch.isalnum() or ch == "_"


def _tokens(query: str) -> Iterator[_Token]:
    i, n = 0, len(query)
    while True:
        while i < n and query[i].isspace():
            i += 1
        if i >= n:
            yield _Token("END", n + 1, "the end of the query")
            return
        column = i + 1
        ch = query[i]
        if ch in "()":
            yield _Token("(" if ch == "(" else ")", column, ch)
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError("phrase without its closing '\"'", column, query)
            text = " ".join(query[i + 1 : close].split())
            if not text:
                raise QuerySyntaxError("empty phrase", column, query)
            yield _Token("TERM", column, query[i : close + 1], Term(text, "phrase", column))
            i = close + 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _SPECIAL:
                i += 1
            yield _bare(query, query[start:i], column)


def _bare(query: str, word: str, column: int) -> _Token:
    """An operator, or a word / prefix term."""
    operator = _OPERATORS.get(word)
    if operator is not None:
        return _Token(operator, column, word)
    if word == "NEAR" or word.startswith("NEAR/"):
        near = _NEAR_RE.fullmatch(word)
        if near is None:
            raise QuerySyntaxError(
                f"{word!r}: NEAR needs a distance in words, e.g. NEAR/5", column, query
            )
        return _Token("NEAR", column, word, distance=int(near.group(1)))
    star = word.find("*")
    if star < 0:
        return _Token("TERM", column, word, Term(word, "word", column))
    if star != len(word) - 1:
        raise QuerySyntaxError(
            "'*' can only end a term (acme* matches words starting with acme); "
            'put a literal * inside a "phrase"',
            column + star,
            query,
        )
    stem = word[:-1]
    if _trailing_word_chars(stem) < MIN_PREFIX:
        raise QuerySyntaxError(
            f"{word!r}: a prefix needs at least {MIN_PREFIX} letters or digits before the '*'",
            column,
            query,
        )
    return _Token("TERM", column, word, Term(stem, "prefix", column))


def _trailing_word_chars(stem: str) -> int:
    """How many letters/digits the last word of ``stem`` has (combining marks not counted)."""
    count = 0
    for ch in reversed(stem):
        if unicodedata.category(ch) in ("Mn", "Mc", "Me"):
            continue  # an accent belongs to the letter before it
        if not _is_word_char(ch):
            break
        count += 1
    return count


# --------------------------------------------------------------------------------------------
# Parser (recursive descent, one function per precedence level)
# --------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = list(_tokens(query))
        self.pos = 0
        self.depth = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != "END":
            self.pos += 1
        return token

    def error(self, message: str, column: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, column, self.query)

    def parse(self) -> Node:
        if self.peek.kind == "END":
            raise self.error("empty query", 1)
        node = self.or_expr()
        token = self.peek
        if token.kind == ")":
            raise self.error("')' without a matching '('", token.column)
        if token.kind != "END":  # pragma: no cover - every other token continues an AND
            raise self.error(f"unexpected {token.text!r}", token.column)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek.kind == "OR":
            self.take()
            children.append(self.and_expr())
        return _flat(Or, children)

    def and_expr(self) -> Node:
        children = [self.unary()]
        while self.peek.kind in ("AND", "NOT", "TERM", "("):
            if self.peek.kind == "AND":
                self.take()
            children.append(self.unary())
        return _flat(And, children)

    def unary(self) -> Node:
        token = self.peek
        if token.kind != "NOT":
            return self.near()
        self.take()
        if self.peek.kind == "NOT":
            raise self.error("NOT NOT cancels out: remove both, or one", self.peek.column)
        with _Deeper(self, token.column):
            return Not(self.unary(), token.column)

    def near(self) -> Node:
        node = self.primary()
        while self.peek.kind == "NEAR":
            op = self.take()
            _check_near_side(self, node, op)
            right = self.primary()
            _check_near_side(self, right, op)
            node = Near(node, right, op.distance, op.column)
        return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "TERM":
            assert token.term is not None
            return token.term
        if token.kind == "(":
            with _Deeper(self, token.column):
                if self.peek.kind == ")":
                    raise self.error("empty parentheses: expected a term", self.peek.column)
                node = self.or_expr()
            close = self.take()
            if close.kind != ")":
                raise self.error(f"missing ')' for the '(' at column {token.column}", close.column)
            return node
        if token.kind == "END":
            before = self.tokens[self.pos - 1] if self.pos else None
            after = f" after {before.text}" if before and before.kind != "TERM" else ""
            raise self.error(f"expected a term{after}", token.column)
        if token.kind == ")":
            raise self.error("expected a term before ')'", token.column)
        raise self.error(f"expected a term, found {token.text}", token.column)


class _Deeper:
    """Counts nesting, so a pathological query is an error, not a RecursionError."""

    def __init__(self, parser: _Parser, column: int) -> None:
        self.parser, self.column = parser, column

    def __enter__(self) -> None:
        self.parser.depth += 1
        if self.parser.depth > MAX_DEPTH:
            raise self.parser.error(f"nested more than {MAX_DEPTH} levels deep", self.column)

    def __exit__(self, *exc: object) -> None:
        self.parser.depth -= 1


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    """One child is itself; nested ANDs in an AND (ORs in an OR) are one level."""
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return kind(tuple(flat), _column(children[0]))


def _column(node: Node) -> int:
    if isinstance(node, And | Or):
        return _column(node.children[0])
    if isinstance(node, Near):
        return _column(node.left)
    return node.column


def _positional(node: Node) -> bool:
    """Has word positions: a term, an OR of positional nodes, or a NEAR."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Or):
        return all(_positional(child) for child in node.children)
    return False


def _check_near_side(parser: _Parser, node: Node, op: _Token) -> None:
    if not _positional(node):
        raise parser.error(
            f"{op.text} needs a term, a phrase, or terms joined by OR on each side "
            "(AND and NOT have no single position to measure from)",
            _column(node),
        )


def _witnessed(node: Node) -> bool:
    """True when the node can only hold if at least one of its non-negated terms occurs."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_witnessed(child) for child in node.children)
    return all(_witnessed(child) for child in node.children)


def _unwitnessed_part(node: Node) -> Node:
    """The part that lets ``node`` hold without any term: where to point the error."""
    if isinstance(node, Or):
        return _unwitnessed_part(next(c for c in node.children if not _witnessed(c)))
    if isinstance(node, And):
        return _unwitnessed_part(node.children[0])
    return node


def parse_query(text: str) -> Node:
    """The syntax tree of ``text``; :class:`QuerySyntaxError` names the column of a problem."""
    parser = _Parser(text)
    node = parser.parse()
    if not _witnessed(node):
        raise QuerySyntaxError(
            "a NOT on its own (or on one side of OR) matches posts that contain none of the "
            "terms, nearly every post: combine it with a term to look for, e.g. acme AND NOT x",
            _column(_unwitnessed_part(node)),
            text,
            kind="unusable query",
        )
    return node


# --------------------------------------------------------------------------------------------
# Reading a tree
# --------------------------------------------------------------------------------------------


def render(node: Node) -> str:
    """The normalised query: explicit AND/OR, parentheses around every nested group.

    ``acme phone OR "acme corp" NOT x`` → ``(acme AND phone) OR ("acme corp" AND NOT x)``.
    Parsing the result gives the same tree again.
    """
    if isinstance(node, Term):
        return node.display
    if isinstance(node, Not):
        return "NOT " + _grouped(node.child)
    if isinstance(node, Near):
        return f"{_grouped(node.left)} NEAR/{node.distance} {_grouped(node.right)}"
    if isinstance(node, And):
        return " AND ".join(_grouped(child) for child in node.children)
    return " OR ".join(_grouped(child) for child in node.children)


def _grouped(node: Node) -> str:
    return render(node) if isinstance(node, Term | Not) else f"({render(node)})"


def terms(node: Node) -> Iterator[tuple[Term, bool]]:
    """Every term in query order, with whether it sits under a NOT."""

    def walk(n: Node, negated: bool) -> Iterator[tuple[Term, bool]]:
        if isinstance(n, Term):
            yield n, negated
        elif isinstance(n, Not):
            yield from walk(n.child, True)
        elif isinstance(n, Near):
            yield from walk(n.left, negated)
            yield from walk(n.right, negated)
        else:
            for child in n.children:
                yield from walk(child, negated)

    return walk(node, False)


def positive_terms(node: Node) -> tuple[Term, ...]:
    """The terms not under a NOT, each once, in query order: what a post may be found by."""
    return tuple(dict.fromkeys(term for term, negated in terms(node) if not negated))


def search_cover(node: Node) -> tuple[Term, ...]:
    """A small set of terms every matching post contains at least one of: what a
    remote search must ask for so that nothing the query matches is missed.

    For ``acme AND phone`` that is just ``acme`` (asking for "phone" too would pull in
    every phone post on the site); for an OR, every side; for NEAR, one side. NOT
    contributes nothing: parse_query refuses queries with nothing positive.
    """
    if isinstance(node, Term):
        return (node,)
    if isinstance(node, Or):
        return tuple(dict.fromkeys(t for child in node.children for t in search_cover(child)))
    if isinstance(node, And):
        covers = [search_cover(child) for child in node.children]
        usable = [c for c in covers if c]
        return min(usable, key=len) if usable else ()
    if isinstance(node, Near):
        left, right = search_cover(node.left), search_cover(node.right)
        return min((c for c in (left, right) if c), key=len, default=())
    return ()
