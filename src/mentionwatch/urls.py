"""Canonical URLs: one post, one key, however it was linked."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

# Query parameters that only say how someone arrived, never what they see.
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_")
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "ref_src",
        "ref_url",
        "s_cid",
        "spm",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _tracking(key: str) -> bool:
    key = key.lower()
    return key in _TRACKING or key.startswith(_TRACKING_PREFIXES)


def clean_url(url: str) -> str:
    """The URL as written, minus tracking parameters and the fragment: what is stored
    and printed. Unlike canonical_url nothing else changes (case, encoding, order),
    and a "#!" or "#/" fragment stays: single-page sites route on it."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
        return url
    pieces = parts.query.split("&") if parts.query else []
    kept = [p for p in pieces if p and not _tracking(unquote_plus(p.partition("=")[0]))]
    fragment = parts.fragment if parts.fragment.startswith(("!", "/")) else ""
    if len(kept) == len(pieces) and fragment == parts.fragment:
        return url  # nothing to drop: byte for byte as the source wrote it
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), fragment))


# A scan asks for each post's canonical URL twice (its key, then its row) and a
# syndicated post comes back from several sources: remember the recent answers.
@lru_cache(maxsize=4096)
def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters.

    The path keeps its case (servers treat it as significant) and the remaining
    query parameters keep their order (some sites route on it). Anything that is
    not an http(s) URL comes back stripped but otherwise untouched.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))
