"""The `email:` section: the SMTP server digests and alerts are sent through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import EmailConfig
from .reader import KeyPath, Reader, check_keys, expect, number, strings

EMAIL_KEYS = (
    "host",
    "port",
    "from",
    "to",
    "starttls",
    "tls",
    "username",
    "password_env",
)


def parse_email(r: Reader, raw: Any) -> EmailConfig:
    at: KeyPath = ("email",)
    expect(r, raw, dict, at, "a mapping")
    check_keys(r, raw, EMAIL_KEYS, at)
    if not raw.get("host"):
        raise r.error(at, "missing `host`")
    flag: Callable[[str], bool] = lambda k: bool(  # noqa: E731
        expect(r, raw.get(k, False), bool, (*at, k), "true or false")
    )
    if flag("starttls") and flag("tls"):
        raise r.error(at, "choose one of `starttls` and `tls`")
    return EmailConfig(
        host=str(expect(r, raw["host"], str, (*at, "host"), "a host name")),
        port=int(number(r, raw, "port", at, 587, low=1, high=65535, integer=True)),
        sender=str(expect(r, raw.get("from", ""), str, (*at, "from"), "an address")),
        to=strings(r, raw.get("to") or [], (*at, "to")),
        starttls=flag("starttls"),
        tls=flag("tls"),
        username=raw.get("username"),
        password_env=raw.get("password_env"),
    )
