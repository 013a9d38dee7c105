"""Untrusted text made harmless: HTML or markup turned into plain text (tags stripped,
entities decoded, space tidied), and any text made inert for a terminal (safe_text).

This runs on every fetched title and body, so it is built from a handful of linear
regular-expression passes rather than an HTML parser: a parser in pure Python costs
tens of microseconds per kilobyte, which would dominate a scan. The passes are
written so that no input can make them backtrack (possessive quantifiers, and every
construct may end at the end of the string), and the input is capped at
``max_chars`` first, so megabytes of junk cost milliseconds, not minutes.

The result is meant for matching and sentiment scoring, not for display fidelity:
inline tags vanish (``Ac<b>me</b>`` reads ``Acme``), block tags become line breaks,
table cells become spaces, and the contents of script, style, noscript, template
and head never show up.
"""

from __future__ import annotations

import html
import re
from typing import Any, Final

__all__ = ["DEFAULT_MAX_CHARS", "html_to_text", "normalize_space", "safe_text"]

DEFAULT_MAX_CHARS: Final = 1_000_000

# Text inside a start or end tag after its name. Quotes only count right after "=",
# so a stray apostrophe cannot swallow the rest of the document; an unterminated
# quoted value runs to the end of the input, as it does in a browser.
_ATTRS: Final = r"""(?:[^>"'=]++|=\s*+"[^"]*+"?|=\s*+'[^']*+'?|[="'])*+(?:>|\Z)"""

# A tag name ends at white space, "/", ">" or the end of the input.
_END_OF: Final = r"(?=[\s/>]|\Z)"
_COMMENT: Final = r"<!--.*?(?:--!?>|\Z)"


def _spellings(name: str) -> str:
    # Case-sensitive matching of lower, UPPER and Capitalised names: re.IGNORECASE
    # would make every pass several times slower.
    return "(?:" + "|".join(dict.fromkeys((name, name.upper(), name.capitalize()))) + ")"


def _hidden_element(name: str, *, ends_at: str = "") -> str:
    """An element with everything up to its end tag (or ``ends_at``, or the end of input)."""
    tag = _spellings(name)
    return rf"<{tag}{_END_OF}{_ATTRS}.*?(?:</{tag}{_END_OF}{_ATTRS}{ends_at}|\Z)"


# Things whose whole extent disappears: comments, and elements whose content is
# never rendered text. An unclosed <script> swallows the rest of the input, which
# is what a browser does too. <head> also ends where <body> starts, because the
# end tag is optional in HTML.
_INVISIBLE: Final = re.compile(
    "|".join(
        [
            _COMMENT,
            *(_hidden_element(name) for name in ("script", "style", "noscript", "template")),
            _hidden_element("head", ends_at=r"|(?=<" + _spellings("body") + r"[\s/>])"),
        ]
    ),
    re.DOTALL,
)

# Elements that start a new line when rendered (case-sensitive: see _spellings).
_BLOCK_NAMES: Final = (
    *("address", "article", "aside", "blockquote", "br", "caption", "center", "dd", "details"),
    *("dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "legend", "li", "main", "nav", "ol"),
    *("p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul"),
)


def _alternation(words: tuple[str, ...]) -> str:
    """A regex alternation grouped by first letter, so a failed match gives up early."""
    spellings = sorted({v for w in words for v in (w, w.upper(), w.capitalize())})
    groups: dict[str, list[str]] = {}
    for word in spellings:
        groups.setdefault(word[0], []).append(word[1:])
    parts = []
    for first, rests in groups.items():
        tails = sorted((r for r in rests if r), key=len, reverse=True)
        if not tails:
            parts.append(re.escape(first))
            continue
        optional = "?" if "" in rests else ""
        parts.append(f"{re.escape(first)}(?:{'|'.join(map(re.escape, tails))}){optional}")
    return "(?:" + "|".join(parts) + ")"


_BLOCK_TAG: Final = re.compile(r"</?" + _alternation(_BLOCK_NAMES) + _END_OF + _ATTRS)
# Table cells sit side by side: separate them with a space, not a line.
_CELL_TAG: Final = re.compile(r"</?(?:t[dh]|T[DH]|T[dh])" + _END_OF + _ATTRS)
# Every other tag, plus declarations (<!DOCTYPE ...>, <![CDATA[ ...) and processing
# instructions. "<" followed by anything else ("a < b", "<3") is text.
_ANY_TAG: Final = re.compile(r"</?[A-Za-z]" + _ATTRS + r"|<[!?][^>]*+(?:>|\Z)")
# Cheap test for "is there any markup at all?" before doing the passes above.
_LOOKS_LIKE_MARKUP: Final = re.compile(r"<[A-Za-z/!?]")


def _control_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # C1 controls in text are nearly always Windows-1252 bytes decoded as Latin-1
    # ("ISO-8859-1" feeds with curly quotes): map them to what the author typed.
    for byte in range(0x80, 0xA0):
        try:
            table[byte] = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            table[byte] = " "
    # Other control characters (escape sequences!) must never reach a terminal.
    # They become spaces rather than vanishing so that words never glue together.
    for code in (*range(0x00, 0x20), 0x7F):
        table[code] = " "
    return table


_CONTROLS: Final = _control_table()


def _tidy_line(raw: str) -> str:
    # isprintable() is a quick C loop that fails on any white space but " " and on
    # control characters; most lines pass it, and then only "  " needs a look.
    if raw.isprintable():
        return " ".join(raw.split()) if "  " in raw else raw.strip(" ")
    # str.split() with no argument is the fastest way to collapse every kind of
    # white-space run (tabs, no-break and ideographic spaces...) to one space.
    line = " ".join(raw.split())
    if line.isprintable():
        return line
    return " ".join(line.translate(_CONTROLS).split())


def _tidy_lines(s: str, *, keep_blank_lines: bool) -> str:
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if "\x85" in s:
        # str.split() treats U+0085 as white space, but in feeds it is the
        # Windows-1252 ellipsis read as Latin-1: rescue it before splitting.
        s = s.replace("\x85", "\u2026")
    if "\n" not in s:
        return _tidy_line(s)
    lines: list[str] = []
    blank = False
    for raw in s.split("\n"):
        line = _tidy_line(raw)
        if not line:
            blank = True
            continue
        if blank and keep_blank_lines and lines:
            lines.append("")
        lines.append(line)
        blank = False
    return "\n".join(lines)


# Stands for a line break from the markup until white space has been tidied, so that
# one str.split() can collapse the source's white space without losing the lines.
_BREAK: Final = "\x00"
_PRINTABLE_ASCII: Final = bytes(range(0x20, 0x7F))
_ASCII_WHITE_SPACE: Final = b"\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_NON_C0_BYTES: Final = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))  # not C0, not DEL
_C1_IN_UTF8: Final = re.compile(rb"\xc2[\x80-\x9f]")
_CONTROLS_BUT_BREAK: Final = {k: v for k, v in _CONTROLS.items() if k != ord(_BREAK)}


def _tidy_html(s: str) -> str:
    """Tidy the text left by the tag passes: one space between words, _BREAK -> "\\n"."""
    # Byte-level scans are several times faster than isprintable() or a regex.
    if s.isascii():
        odd = s.encode("ascii").translate(None, _PRINTABLE_ASCII + _BREAK.encode())
        if odd.translate(None, _ASCII_WHITE_SPACE):
            s = s.translate(_CONTROLS_BUT_BREAK)
        if odd or "  " in s:
            s = " ".join(s.split())
    else:
        raw = s.encode("utf-8", "surrogatepass")
        odd = raw.translate(None, _NON_C0_BYTES + _BREAK.encode() + _ASCII_WHITE_SPACE)
        if odd or _C1_IN_UTF8.search(raw):
            s = s.translate(_CONTROLS_BUT_BREAK)
        # str.split() knows every Unicode space (no-break, ideographic...).
        s = " ".join(s.split())
    # Blank lines here are artefacts of nested blocks (</p><p>, <br><br>): drop them.
    return "\n".join([line for line in (part.strip(" ") for part in s.split(_BREAK)) if line])


def normalize_space(s: str) -> str:
    """Tidy plain text: one space between words, at most one blank line, no ends.

    Every run of white space inside a line (tabs, no-break spaces, ideographic
    spaces...) becomes one space; control characters become spaces (C1 ones are read
    as Windows-1252, their usual origin, so ``\\x93`` becomes a curly quote); CR LF
    and CR become LF; runs of blank lines become one blank line; leading and trailing
    space and blank lines go.
    """
    return _tidy_lines(s, keep_blank_lines=True)


def html_to_text(html_text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Return the readable text of an HTML fragment or page, as tidy plain text.

    Tags are removed; the contents of script, style, noscript, template and head
    are dropped; named, decimal and hexadecimal entities are decoded (``AT&amp;T``
    -> ``AT&T``); block elements (p, br, div, li, h1-h6, tr, blockquote, ...) end a
    line, so ``<p>a</p><p>b</p>`` gives ``"a\\nb"``; white space in the source is
    collapsed as a browser would, and no blank lines remain. Text without any tag
    keeps its line breaks (as :func:`normalize_space` leaves them). Broken markup
    never raises: an unclosed tag at the end is dropped, a lone ``<`` (``a < b``)
    is kept as text.

    Input longer than ``max_chars`` is cut to that length before any work is done.
    """
    s = html_text[:max_chars] if len(html_text) > max_chars else html_text
    if "<" not in s and "&" not in s:
        return normalize_space(s)
    if not _LOOKS_LIKE_MARKUP.search(s):
        # Plain text that merely contains "&" or "a < b": decode, keep its lines.
        return _tidy_lines(html.unescape(s) if "&" in s else s, keep_blank_lines=True)

    s = _INVISIBLE.sub("", s)
    if _BREAK in s:
        s = s.replace(_BREAK, " ")
    s = _BLOCK_TAG.sub(_BREAK, s)
    s = _CELL_TAG.sub(" ", s)
    s = _ANY_TAG.sub("", s)
    # Decoding happens last and once, so "&lt;b&gt;" becomes the text "<b>" and is
    # never taken for a tag.
    if "&" in s:
        s = html.unescape(s)
    return _tidy_html(s)


# ESC-introduced sequences (CSI, OSC, ...) first, then any remaining control or
# bidi-override character. Tabs and newlines are handled by the caller.
_TERMINAL_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[@-_]"  # other two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_text(value: Any, *, one_line: bool = True) -> str:
    """Untrusted text made inert for a terminal: escapes dropped, controls shown as '?'."""
    if value is None:
        return ""
    s = _TERMINAL_ESCAPES.sub("", str(value))
    s = _TERMINAL_CONTROLS.sub("?", s)
    if one_line:
        s = " ".join(s.split())
    return s
