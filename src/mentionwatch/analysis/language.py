"""Which language a post is written in, so it is scored by a model of that language.

py3langid ships its model inside the package (no download at run time), knows 140
languages and classifies about 19,000 short texts a second on one core. Two things it
cannot do alone, handled here:

- Short posts ("Ember!", "@ember fix this") carry too little text to tell: below
  :data:`MIN_CONFIDENCE` the answer is "unknown" (None), and the caller treats the post
  as written in the default language rather than guessing Luganda.
- Bokmål and Danish share most of their spelling, and the identifier often splits a
  bokmål sentence between ``da``, ``no`` and ``nn``. Norwegian's share of the answer is
  summed over its two written forms; when it is at least :data:`NORWEGIAN_SHARE` of
  Danish's, the post is taken as Norwegian (Danish has no model, so the error the
  other way would leave a Norwegian complaint unscored).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

MIN_CONFIDENCE = 0.5
NORWEGIAN_SHARE = 0.5
_MAX_CHARS = 2000  # the first 2,000 characters say the language as well as the rest

# Links, @handles, #hashtags and e-mail addresses are not words of any language.
_NOT_LANGUAGE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[@#]\w+")
_THREE_LETTERS = re.compile(r"(?:[^\W\d_][\W\d_]*){3}")

# A fast path for plain English, the bulk of what most users watch, taken before the
# identifier: at least three of these words (none a common word of a Nordic language, nor
# of German, Dutch, French or Spanish), making up a sixth of the words, and no accented
# Latin letter. On 5,000 English tweets it takes 68 % of them; on NoReC's 7,973
# Norwegian sentences 0.3 % (ones quoting English titles). It halves the cost of
# detection, which is most of the cost of scoring a post.
_ENGLISH = frozenset(
    re.split(
        r"\s+",
        "the and are was were of with you your my this that it's not have has been what "
        "just but they we our from will can't don't i'm it is be all out up about get "
        "like when can if how its on",
    )
)
_ASCII_WORD = re.compile(r"[a-z']+")
_ACCENTED = re.compile(r"[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")

# Codes sources use for the same language, folded to one (ISO 639-1 where there is one).
_ALIASES = {"nb": "no", "nn": "no", "nob": "no", "nno": "no", "nor": "no", "eng": "en"}


def normalize(code: str | None) -> str | None:
    """A language code as stored and as models are named: ``en-US`` → ``en``, ``nb`` → ``no``."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    if not base.isalpha() or not 2 <= len(base) <= 3:
        return None
    return _ALIASES.get(base, base)


@cache
def _identifier() -> Any:
    """The identifier, loaded on first use (~0.3 s and ~100 MB: many commands never need
    it); None when it cannot be loaded. py3langid unpacks its model through a temporary
    file, so a full disk would otherwise sink a scan over a nicety: without detection a
    post counts as written in the default language, as a short one does."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    try:
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    except (OSError, ValueError, MemoryError):
        return None


def detect(text: str) -> str | None:
    """The language of ``text`` as a normalised code, or None when it can't be told."""
    sample = _NOT_LANGUAGE.sub(" ", text[:_MAX_CHARS])
    if not _THREE_LETTERS.search(sample):
        return None
    if not _ACCENTED.search(sample):
        words = _ASCII_WORD.findall(sample.lower())
        hits = sum(map(_ENGLISH.__contains__, words))  # a C loop: this runs per post
        if hits >= 3 and hits * 6 >= len(words):
            return "en"
    identifier = _identifier()
    if identifier is None:
        return None
    # classify (the best guess) costs half of rank (every language, sorted): rank only
    # when the best guess is Danish or unsure, where the summing below can change it.
    code, prob = identifier.classify(sample)
    best = normalize(str(code)) or str(code)
    if best != "da" and float(prob) >= MIN_CONFIDENCE:
        return best
    probs: dict[str, float] = {}
    for code, prob in identifier.rank(sample)[:5]:
        key = normalize(str(code)) or str(code)
        probs[key] = probs.get(key, 0.0) + float(prob)
    best = max(probs, key=lambda k: probs[k])
    confidence = probs[best]
    if best == "da" and probs.get("no", 0.0) >= NORWEGIAN_SHARE * probs["da"]:
        # Sure it is one of the two, not sure which: the two together are the confidence.
        best, confidence = "no", probs["da"] + probs["no"]
    return best if confidence >= MIN_CONFIDENCE else None
