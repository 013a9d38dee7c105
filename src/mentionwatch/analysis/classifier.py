"""Trained sentiment classifier: turn a short text into (label, score) with a linear model.

This module's one job is inference for the shipped linear models (multinomial logistic
regression over word uni/bi-grams and character n-grams). It is deliberately standalone:
standard library only, no imports from the rest of mentionwatch, so that
``scripts/train_sentiment.py`` can import :func:`featurize` and train on exactly the
features that run time sees.

Weights live in ``weights/<lang>.json.gz`` next to this file (package data); see
``weights/MODEL.md`` for what they were trained on and how well they do.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise, repeat
from pathlib import Path
from typing import Any

__all__ = ["FORMAT_VERSION", "LABELS", "LinearModel", "featurize", "load_model"]

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
FORMAT_VERSION = 1

# Tokens, in priority order: URLs, @handles, #hashtags, words (with an inner apostrophe so
# "don't" stays one token), ASCII emoticons, "<3", then any other single non-space char
# (punctuation, emoji) so "!!" and an eye-roll emoji carry signal.
_TOKEN = re.compile(
    r"https?://\S+|www\.\S+"
    r"|@\w+"
    r"|#\w+"
    r"|\w+(?:['\u2019]\w+)*"
    r"|[:;=8][\-o*']?[)\](\[dpDP/\\|@3*]"
    r"|<3"
    r"|[!?]+"
    r"|[^\w\s]",
)
# "soooo" -> "soo", "!!!!" -> "!!": keeps emphasis as a feature without a new word per length.
_REPEAT = re.compile(r"(.)\1{2,}")
_DIGIT = re.compile(r"\d")
# Negators (English, bokmål, nynorsk). Words after one get a "~" prefix so "not good" and
# "good" are different features; a linear model cannot learn that interaction otherwise.
_NEGATORS = frozenset(
    {
        "not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor",
        "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent",
        "wont", "wouldnt", "couldnt", "shouldnt", "havent", "hasnt", "hadnt", "aint",
        "ikke", "ikkje", "ingen", "inga", "ingenting", "aldri", "verken", "korkje",
    }
)  # fmt: skip
_NEGATION_SCOPE = 3  # words; longer scopes bleed into the next clause in tweets
_CLAUSE_END = frozenset(".,!?;:")
_CHAR_NGRAM = 4  # one size keeps featurize fast (runtime budget) while catching misspellings
_MIN_CHAR_WORD = 4  # shorter words are fully covered by their word feature


@lru_cache(maxsize=1 << 16)
def _normalise(raw: str) -> tuple[str, bool]:
    """(normal form, is a negator) of one raw token. Cached: tokens repeat a lot (Zipf)."""
    if raw.startswith(("http://", "https://", "www.")):
        return "<url>", False
    if raw[0] == "@" and len(raw) > 1:
        return "<user>", False
    if _DIGIT.search(raw):
        return "<num>", False
    tok = _REPEAT.sub(r"\1\1", raw)
    bare = tok.replace("'", "").replace("\u2019", "")
    return tok, bare in _NEGATORS or raw.endswith(("n't", "n\u2019t"))


@lru_cache(maxsize=1 << 16)
def _char_grams(word: str) -> tuple[str, ...]:
    """Character n-grams of one word, with ``<``/``>`` boundaries. Cached per word."""
    if len(word) < _MIN_CHAR_WORD or not word.isalpha():
        return ()
    n = _CHAR_NGRAM
    padded = f"<{word}>"
    return tuple("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))


def featurize(text: str) -> list[str]:
    """The feature strings of ``text``; training and inference both call exactly this.

    Features: ``w:`` word unigrams (negation-marked), ``b:`` word bigrams, ``c:`` character
    4-grams inside words (with ``<``/``>`` word boundaries). Duplicates are kept; the model
    treats features as binary, so callers may de-duplicate.
    """
    tokens: list[str] = []
    grams: list[str] = []
    negated = 0
    for raw in _TOKEN.findall(text.lower()):
        tok, is_negator = _normalise(raw)
        if tok[0] in _CLAUSE_END:
            negated = 0
            tokens.append(tok)
            continue
        if is_negator:
            bare = tok.replace("'", "").replace("\u2019", "")
            tokens.append(bare)
            grams.extend(_char_grams(bare))
            negated = _NEGATION_SCOPE
            continue
        # Spelling features ignore negation; the word features carry it.
        grams.extend(_char_grams(tok))
        if negated and tok[0].isalnum():
            negated -= 1
            tokens.append("~" + tok)
        else:
            tokens.append(tok)
        if tok[0] == "#" and len(tok) > 1:
            # Hashtags often are plain words ("#fail"): also emit the word.
            tokens.append(tok[1:])
            grams.extend(_char_grams(tok[1:]))
    feats = ["w:" + t for t in tokens]
    feats.extend(f"b:{a} {b}" for a, b in pairwise(tokens))
    feats.extend(grams)
    return feats


class LinearModel:
    """A multinomial linear model over binary features: softmax(bias + sum of weights).

    Softmax only depends on logit differences, so each feature is stored as one complex
    number: real = w(negative) - w(neutral), imag = w(positive) - w(neutral). Scoring a text
    is then a single C-level ``sum`` of dict look-ups, which is most of the speed budget.
    """

    __slots__ = ("_bias", "_deltas", "labels", "lang")

    def __init__(
        self,
        labels: Sequence[str],
        bias: Sequence[float],
        weights: Mapping[str, Sequence[float]],
        lang: str = "",
    ) -> None:
        if tuple(labels) != LABELS or len(bias) != len(LABELS):
            raise ValueError(f"model must have labels {LABELS}, got {tuple(labels)}")
        self.labels: tuple[str, ...] = tuple(labels)
        self._bias = complex(bias[0] - bias[1], bias[2] - bias[1])
        self._deltas: dict[str, complex] = {
            feat: complex(w[0] - w[1], w[2] - w[1]) for feat, w in weights.items()
        }
        self.lang = lang

    def __len__(self) -> int:
        """Number of features with a weight."""
        return len(self._deltas)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearModel:
        """Build from the decoded weights file (see ``scripts/train_sentiment.py``)."""
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported weights format {data.get('format')!r}")
        # Weights are stored as integers (quantised) to keep the file small.
        scale = float(data["scale"])
        weights = {
            feat: (q[0] * scale, q[1] * scale, q[2] * scale) for feat, q in data["weights"].items()
        }
        return cls(data["labels"], data["bias"], weights, str(data.get("lang", "")))

    @classmethod
    def load(cls, path: str | Path) -> LinearModel:
        """Load a ``.json.gz`` weights file from a filesystem path."""
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))

    def logits(self, text: str) -> tuple[float, float, float]:
        """Logits of (negative, neutral, positive), neutral fixed at 0."""
        # Binary features: each counts once, hence the set.
        total = sum(map(self._deltas.get, set(featurize(text)), repeat(0j)), self._bias)
        return total.real, 0.0, total.imag

    def probabilities(self, text: str) -> tuple[float, float, float]:
        """p(negative), p(neutral), p(positive)."""
        s0, s1, s2 = self.logits(text)
        top = max(s0, s1, s2)  # subtract the max: exp() never overflows
        e0, e1, e2 = math.exp(s0 - top), math.exp(s1 - top), math.exp(s2 - top)
        total = e0 + e1 + e2
        return e0 / total, e1 / total, e2 / total

    def predict(self, text: str) -> tuple[str, float]:
        """(label, score): label is the most probable class, score = p(pos) - p(neg)."""
        p_neg, p_neu, p_pos = self.probabilities(text)
        if p_neg >= p_neu and p_neg >= p_pos:
            label = LABELS[0]
        elif p_pos > p_neu:
            label = LABELS[2]
        else:
            label = LABELS[1]
        return label, p_pos - p_neg

    def predict_many(self, texts: Iterable[str]) -> list[tuple[str, float]]:
        return [self.predict(t) for t in texts]


@cache
def load_model(lang: str) -> LinearModel | None:
    """The shipped model for ``lang`` ("en", "no"), loaded once; None if there is none."""
    name = f"{lang.lower()}.json.gz"
    if not re.fullmatch(r"[a-z]{2,3}\.json\.gz", name):
        return None  # never build a resource path from arbitrary input
    resource = resources.files("mentionwatch.analysis").joinpath("weights", name)
    if not resource.is_file():
        return None
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        return LinearModel.from_dict(json.load(fh))
