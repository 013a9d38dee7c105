"""The `alerts:` config section: alert rules and where fired alerts go, parsed and
validated into frozen dataclasses, with file:line:key errors like the rest of the config."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from ..timeutil import parse_duration
from .reader import (
    KeyPath,
    Reader,
    brand_ref,
    check_keys,
    check_terms,
    check_url,
    did_you_mean,
    expect,
    number,
    required_name,
    strings,
)

DEFAULT_MAX_AGE = timedelta(days=7)
SPIKE_WINDOW = timedelta(hours=1)
NEGATIVE_WINDOW = timedelta(hours=6)
URGENT_WITHIN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """Volume spike: the mentions in the last ``window`` against ``baseline`` earlier
    windows of the same length. Fires when the count is at least ``min_count`` and its
    robust z-score (see :func:`mentionwatch.report.alerts.spike_numbers`) is ``sensitivity``
    or more.
    """

    kind: ClassVar[str] = "spike"
    name: str
    brand: str | None = None  # None: all `own` brands together (AlertsConfig.own_brands)
    window: timedelta = SPIKE_WINDOW
    baseline: int = 24
    sensitivity: float = 3.0
    min_count: int = 5


@dataclass(frozen=True, slots=True)
class NegativeRule:
    """Negative-sentiment surge: in the last ``window``, at least ``min_count`` negative
    mentions, a negative share of at least ``threshold``, and that share at least
    ``min_rise`` above the share over the ``baseline`` earlier windows."""

    kind: ClassVar[str] = "negative"
    name: str
    brand: str | None = None
    window: timedelta = NEGATIVE_WINDOW
    baseline: int = 28
    min_count: int = 5
    threshold: float = 0.5
    min_rise: float = 0.2


@dataclass(frozen=True, slots=True)
class UrgentRule:
    """Any mention whose title or text matches one of ``terms`` (matcher rules: whole
    words and phrases) fires at once. Only mentions published (else fetched) within
    ``within`` of the evaluation count, so a first scan of an archive is not a flood."""

    kind: ClassVar[str] = "urgent"
    name: str
    terms: tuple[str, ...]
    brand: str | None = None
    within: timedelta = URGENT_WITHIN


Rule = SpikeRule | NegativeRule | UrgentRule
WindowRule = SpikeRule | NegativeRule


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """Where fired alerts go. Neither channel: alerts are only stored and printed."""

    email: bool = False
    email_to: tuple[str, ...] = ()  # empty: the `email:` section's `to`
    webhook_url: str | None = None
    webhook_url_env: str | None = None
    # Undelivered alerts older than this are not sent to a channel (a webhook added
    # today should not receive last year's alerts).
    max_age: timedelta = DEFAULT_MAX_AGE

    @property
    def has_webhook(self) -> bool:
        return bool(self.webhook_url or self.webhook_url_env)


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    rules: tuple[Rule, ...]
    deliver: AlertDelivery = field(default_factory=AlertDelivery)
    # What a rule without `brand:` counts: the `own` brands (competitors and topics only
    # when a rule names them). None: every brand (no brand list was given).
    own_brands: tuple[str, ...] | None = None

    def scope(self, rule: Rule) -> tuple[str, ...] | None:
        """The stored brand names ``rule`` counts (None: all of them)."""
        return (rule.brand,) if rule.brand is not None else self.own_brands


ALERTS_KEYS = ("deliver", "rules")
DELIVER_KEYS = ("email", "webhook_url", "webhook_url_env", "max_age")
_RULE_KEYS = ("name", "type", "brand")
_WINDOW_KEYS = (*_RULE_KEYS, "window", "baseline", "min_count")
RULE_TYPES: dict[str, tuple[str, ...]] = {
    "spike": (*_WINDOW_KEYS, "sensitivity"),
    "negative": (*_WINDOW_KEYS, "threshold", "min_rise"),
    "urgent": (*_RULE_KEYS, "terms", "within"),
}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MIN_WINDOW = timedelta(minutes=1)


def parse_alerts(
    r: Reader,
    raw: Any,
    *,
    brands: Sequence[str] = (),
    own_brands: Sequence[str] | None = None,
    has_email: bool = True,
) -> AlertsConfig | None:
    """The `alerts:` section (``None`` when absent). ``brands`` are the configured brand
    names (a rule's ``brand`` must be one of them, spelled as in the config),
    ``own_brands`` those of role `own` (what a rule without a brand counts; None: all),
    and ``has_email`` says whether an `email:` section exists for ``deliver.email``."""
    if raw is None:
        return None
    at: KeyPath = ("alerts",)
    expect(r, raw, dict, at, "a mapping with `rules:` (and optionally `deliver:`)")
    check_keys(r, raw, ALERTS_KEYS, at)
    rules_raw = raw.get("rules")
    if rules_raw is None:
        raise r.error(at, "missing `rules:` (a list of alert rules)")
    expect(r, rules_raw, list, (*at, "rules"), "a list of rules")
    if not rules_raw:
        raise r.error((*at, "rules"), "no rules: add at least one")
    rules: list[Rule] = []
    names: dict[str, int] = {}
    for i, item in enumerate(rules_raw):
        rule = _rule(r, item, (*at, "rules", i), brands)
        # Episodes are stored per rule name: two rules with one name would share them.
        if rule.name.casefold() in names:
            raise r.error((*at, "rules", i, "name"), f"duplicate rule name {rule.name!r}")
        names[rule.name.casefold()] = i
        rules.append(rule)
    deliver = _deliver(r, raw.get("deliver"), (*at, "deliver"), has_email)
    own = tuple(own_brands) if own_brands is not None else None
    return AlertsConfig(rules=tuple(rules), deliver=deliver, own_brands=own)


def _rule(r: Reader, item: Any, at: KeyPath, brands: Sequence[str]) -> Rule:
    expect(r, item, dict, at, "a mapping with name and type")
    kind = item.get("type")
    if kind is None:
        raise r.error(at, f"missing `type` (one of: {', '.join(RULE_TYPES)})")
    expect(r, kind, str, (*at, "type"), "a rule type")
    if kind not in RULE_TYPES:
        hint = did_you_mean(kind, list(RULE_TYPES))
        raise r.error(
            (*at, "type"), f"unknown rule type {kind!r}{hint}; known: {', '.join(RULE_TYPES)}"
        )
    check_keys(r, item, RULE_TYPES[kind], at)
    name = required_name(r, item, at)
    brand = brand_ref(r, item.get("brand"), (*at, "brand"), brands)
    if kind == "urgent":
        if item.get("terms") is None:
            raise r.error(at, "missing `terms` (the words or phrases that fire at once)")
        terms = strings(r, item["terms"], (*at, "terms"), allow_empty=False)
        check_terms(r, name, terms, (*at, "terms"))
        within = _duration(r, item, "within", at, URGENT_WITHIN)
        return UrgentRule(name=name, terms=terms, brand=brand, within=within)
    if kind == "spike":
        return SpikeRule(
            name=name,
            brand=brand,
            window=_duration(r, item, "window", at, SPIKE_WINDOW),
            baseline=int(number(r, item, "baseline", at, 24, low=3, high=1000, integer=True)),
            sensitivity=float(
                number(r, item, "sensitivity", at, 3.0, low=0.5, high=50, integer=False)
            ),
            min_count=int(number(r, item, "min_count", at, 5, low=1, high=10**6, integer=True)),
        )
    return NegativeRule(
        name=name,
        brand=brand,
        window=_duration(r, item, "window", at, NEGATIVE_WINDOW),
        baseline=int(number(r, item, "baseline", at, 28, low=1, high=1000, integer=True)),
        min_count=int(number(r, item, "min_count", at, 5, low=1, high=10**6, integer=True)),
        threshold=float(number(r, item, "threshold", at, 0.5, low=0.01, high=1, integer=False)),
        min_rise=float(number(r, item, "min_rise", at, 0.2, low=0, high=1, integer=False)),
    )


def _duration(
    r: Reader, item: dict[str, Any], key: str, at: KeyPath, default: timedelta
) -> timedelta:
    value = item.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise r.error((*at, key), f"expected a duration like 30m, 1h, 6h, 1d, got {value!r}")
    delta = parse_duration(str(value)) if isinstance(value, str) else None
    if delta is None:
        unit = " (add a unit: m, h, d or w)" if not isinstance(value, str) else ""
        raise r.error(
            (*at, key),
            f"cannot read {value!r}{unit}: expected a duration like 30m, 1h, 6h, 1d or 1w",
        )
    if delta < _MIN_WINDOW:
        raise r.error((*at, key), f"{value!r} is too short: at least 1m")
    return delta


def _deliver(r: Reader, raw: Any, at: KeyPath, has_email: bool) -> AlertDelivery:
    if raw is None:
        return AlertDelivery()
    expect(r, raw, dict, at, "a mapping (email, webhook_url_env or webhook_url)")
    check_keys(r, raw, DELIVER_KEYS, at)
    email = False
    email_to: tuple[str, ...] = ()
    value = raw.get("email")
    if isinstance(value, bool):
        email = value
    elif value is not None:
        # A list sends alerts to other people than the digest (on-call, say).
        email_to = strings(r, value, (*at, "email"), allow_empty=False)
        email = True
    if email and not has_email:
        raise r.error((*at, "email"), "needs an `email:` section (SMTP host, from, to)")
    url = raw.get("webhook_url")
    env = raw.get("webhook_url_env")
    if url is not None and env is not None:
        raise r.error(at, "choose one of `webhook_url` and `webhook_url_env`")
    if url is not None:
        url = check_url(r, url, (*at, "webhook_url"))
    if env is not None:
        expect(r, env, str, (*at, "webhook_url_env"), "an environment variable name")
        if not _ENV_NAME.match(env):
            raise r.error(
                (*at, "webhook_url_env"),
                f"{env!r} is not an environment variable name (the URL itself goes in the "
                "environment, e.g. webhook_url_env: SLACK_WEBHOOK_URL)",
            )
    max_age = _duration(r, raw, "max_age", at, DEFAULT_MAX_AGE)
    return AlertDelivery(
        email=email,
        email_to=email_to,
        webhook_url=url,
        webhook_url_env=env,
        max_age=max_age,
    )
