from __future__ import annotations

import pytest

from mentionwatch.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.COM/a/B?x=1", "https://example.com/a/B?x=1"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?fbclid=xyz", "https://example.com/a"),
        ("https://example.com/a?gclid=1&b=2&mc_cid=9", "https://example.com/a?b=2"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("HTTPS://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("https://example.com./a", "https://example.com/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("mailto:x@example.com", "mailto:x@example.com"),
        ("not a url", "not a url"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_same_post_under_tracking_variants_has_one_key() -> None:
    variants = [
        "https://technews.example/2026/11/acme?utm_source=rss",
        "https://TechNews.example/2026/11/acme?utm_campaign=weekly#comments",
        "https://technews.example/2026/11/acme",
    ]
    assert len({canonical_url(v) for v in variants}) == 1
