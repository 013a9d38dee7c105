"""The `settings:` section: concurrency, timeouts, politeness, the sentiment engine."""

from __future__ import annotations

from typing import Any

from .model import Settings
from .reader import KeyPath, Reader, check_keys, did_you_mean, expect, number

SETTINGS_KEYS = (
    "concurrency",
    "concurrency_per_host",
    "timeout",
    "user_agent",
    "sentiment",
    "max_body_bytes",
    "retries",
    "max_pages",
)


def parse_settings(r: Reader, raw: Any) -> Settings:
    if raw is None:
        return Settings()
    at: KeyPath = ("settings",)
    expect(r, raw, dict, at, "a mapping")
    check_keys(r, raw, SETTINGS_KEYS, at)
    engine = raw.get("sentiment", "model")
    expect(r, engine, str, (*at, "sentiment"), "an engine name")
    if engine not in r.catalog.engines:
        hint = did_you_mean(engine, list(r.catalog.engines))
        raise r.error(
            (*at, "sentiment"),
            f"unknown engine {engine!r}{hint}; known: {', '.join(r.catalog.engines)}",
        )
    ua = raw.get("user_agent")
    if ua is not None:
        expect(r, ua, str, (*at, "user_agent"), "a string")
    return Settings(
        concurrency=int(number(r, raw, "concurrency", at, 16, low=1, high=256, integer=True)),
        concurrency_per_host=int(
            number(r, raw, "concurrency_per_host", at, 4, low=1, high=256, integer=True)
        ),
        timeout=float(number(r, raw, "timeout", at, 20.0, low=0.1, high=3600, integer=False)),
        user_agent=ua,
        sentiment=engine,
        max_body_bytes=int(
            number(
                r, raw, "max_body_bytes", at, 5 * 1024 * 1024, low=1024, high=2**31, integer=True
            )
        ),
        retries=int(number(r, raw, "retries", at, 2, low=0, high=10, integer=True)),
        max_pages=int(number(r, raw, "max_pages", at, 5, low=1, high=100, integer=True)),
    )
