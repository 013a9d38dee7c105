"""The `policy:` and `inbox:` config sections: social-media-policy rules (confidential
terms, watched accounts) and webcare response-time targets, parsed and validated into
frozen dataclasses with file:line:key errors like the rest of the config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Literal

from .alerts import _brand, _check_terms
from .loader import (
    Config,
    Path_,
    _check_keys,
    _did_you_mean,
    _expect,
    _Reader,
    _strings,
    duration,
    required_name,
)

Severity = Literal["low", "medium", "high", "critical"]
# Ascending: the inbox puts higher severities first (see inbox.py).
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {name: i + 1 for i, name in enumerate(SEVERITIES)}
SENTIMENT_LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """Flags a mention that needs attention whatever its sentiment.

    With ``terms``: the post's title or text contains one of them (matcher rules: whole
    words and phrases, case and accents ignored). With ``authors``: the post is by one of
    these accounts (case-insensitive, a leading ``@`` ignored). With both: both must hold.
    ``brand`` limits the rule to that brand's mentions.
    """

    # Flags become alerts of this kind (alerts.py), so the rule reads like an alert rule.
    kind: ClassVar[str] = "policy"
    name: str
    severity: Severity
    terms: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class InboxConfig:
    """Response-time targets per sentiment label (``negative``, ``neutral``, ``positive``).

    A brand's own ``respond_within`` also applies; the stricter (shorter) target wins,
    see :func:`response_target`.
    """

    respond_within: tuple[tuple[str, timedelta], ...] = ()

    def target(self, label: str | None) -> timedelta | None:
        return dict(self.respond_within).get(label or "neutral")


POLICY_RULE_KEYS = ("name", "severity", "terms", "authors", "brand")
INBOX_KEYS = ("respond_within",)


def parse_policy(
    r: _Reader,
    raw: Any,
    *,
    brands: Sequence[str] = (),
    alert_rules: Sequence[str] = (),
) -> tuple[PolicyRule, ...]:
    """The `policy:` section: a list of rules (empty when absent). ``alert_rules`` are the
    `alerts:` rule names: flags are stored as alerts under their rule's name, so a policy
    rule may not share a name with an alert rule."""
    if raw is None:
        return ()
    at: Path_ = ("policy",)
    _expect(r, raw, list, at, "a list of policy rules (name, severity, terms or authors)")
    rules: list[PolicyRule] = []
    names: dict[str, int] = {}
    taken = {name.casefold() for name in alert_rules}
    for i, item in enumerate(raw):
        rule = _rule(r, item, (*at, i), brands)
        if rule.name.casefold() in names:
            raise r.error((*at, i, "name"), f"duplicate policy rule name {rule.name!r}")
        if rule.name.casefold() in taken:
            raise r.error(
                (*at, i, "name"),
                f"{rule.name!r} is also an alert rule's name: policy flags are alerted "
                "under their rule's name, so give it another",
            )
        names[rule.name.casefold()] = i
        rules.append(rule)
    return tuple(rules)


def _rule(r: _Reader, item: Any, at: Path_, brands: Sequence[str]) -> PolicyRule:
    _expect(r, item, dict, at, "a mapping with name, severity and terms or authors")
    _check_keys(r, item, POLICY_RULE_KEYS, at)
    name = required_name(r, item, at)
    severity = item.get("severity")
    if severity is None:
        raise r.error(at, f"missing `severity` (one of: {', '.join(SEVERITIES)})")
    _expect(r, severity, str, (*at, "severity"), "a severity")
    if severity not in SEVERITIES:
        hint = _did_you_mean(severity, list(SEVERITIES))
        raise r.error(
            (*at, "severity"),
            f"unknown severity {severity!r}{hint}; known: {', '.join(SEVERITIES)}",
        )
    terms: tuple[str, ...] = ()
    if item.get("terms") is not None:
        terms = _strings(r, item["terms"], (*at, "terms"), allow_empty=False)
        _check_terms(r, name, terms, (*at, "terms"))
    authors: tuple[str, ...] = ()
    if item.get("authors") is not None:
        authors = _strings(r, item["authors"], (*at, "authors"), allow_empty=False)
        for j, author in enumerate(authors):
            if not author_key(author):
                raise r.error((*at, "authors", j), f"{author!r} names no account")
    if not terms and not authors:
        raise r.error(at, "needs `terms` (confidential words) or `authors` (watched accounts)")
    return PolicyRule(
        name=name,
        severity=severity,  # checked against SEVERITIES above
        terms=terms,
        authors=authors,
        brand=_brand(r, item.get("brand"), (*at, "brand"), brands),
    )


def author_key(author: str) -> str:
    """How accounts are compared: case-insensitive, without a leading ``@``."""
    return author.strip().removeprefix("@").strip().casefold()


def parse_inbox(r: _Reader, raw: Any) -> InboxConfig | None:
    """The `inbox:` section (``None`` when absent). ``respond_within`` is one duration for
    every mention, or a mapping from sentiment label to duration."""
    if raw is None:
        return None
    at: Path_ = ("inbox",)
    _expect(r, raw, dict, at, "a mapping (respond_within)")
    _check_keys(r, raw, INBOX_KEYS, at)
    value = raw.get("respond_within")
    if value is None:
        return InboxConfig()
    if not isinstance(value, dict):
        # One target for everything: the plain `respond_within: 4h` of a brand.
        target = duration(r, raw, "respond_within", at)
        assert target is not None
        return InboxConfig(respond_within=tuple((label, target) for label in SENTIMENT_LABELS))
    where: Path_ = (*at, "respond_within")
    _check_keys(r, value, SENTIMENT_LABELS, where)
    targets = []
    for label in SENTIMENT_LABELS:
        target = duration(r, value, label, where)
        if target is not None:
            targets.append((label, target))
    return InboxConfig(respond_within=tuple(targets))


def response_target(config: Config | None, brand: str, label: str | None) -> timedelta | None:
    """How soon a mention of ``brand`` with this sentiment label should be answered: the
    stricter (shorter) of the brand's ``respond_within`` and the `inbox:` target for the
    label (a team that promised both has to meet both). None: no target."""
    if config is None:
        return None
    targets: list[timedelta] = []
    for b in config.brands:
        if b.name.casefold() == brand.casefold() and b.respond_within is not None:
            targets.append(b.respond_within)
    if config.inbox is not None:
        by_label = config.inbox.target(label)
        if by_label is not None:
            targets.append(by_label)
    return min(targets, default=None)
