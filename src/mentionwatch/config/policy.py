"""The `policy:` config section: social-media-policy rules (confidential terms, watched
accounts), parsed and validated into frozen dataclasses with file:line:key errors like
the rest of the config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from .reader import (
    KeyPath,
    Reader,
    brand_ref,
    check_keys,
    check_terms,
    did_you_mean,
    expect,
    required_name,
    strings,
)

Severity = Literal["low", "medium", "high", "critical"]
# Ascending: the inbox puts higher severities first (see webcare.inbox).
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {name: i + 1 for i, name in enumerate(SEVERITIES)}


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


POLICY_RULE_KEYS = ("name", "severity", "terms", "authors", "brand")


def parse_policy(
    r: Reader,
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
    at: KeyPath = ("policy",)
    expect(r, raw, list, at, "a list of policy rules (name, severity, terms or authors)")
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


def _rule(r: Reader, item: Any, at: KeyPath, brands: Sequence[str]) -> PolicyRule:
    expect(r, item, dict, at, "a mapping with name, severity and terms or authors")
    check_keys(r, item, POLICY_RULE_KEYS, at)
    name = required_name(r, item, at)
    severity = item.get("severity")
    if severity is None:
        raise r.error(at, f"missing `severity` (one of: {', '.join(SEVERITIES)})")
    expect(r, severity, str, (*at, "severity"), "a severity")
    if severity not in SEVERITIES:
        hint = did_you_mean(severity, list(SEVERITIES))
        raise r.error(
            (*at, "severity"),
            f"unknown severity {severity!r}{hint}; known: {', '.join(SEVERITIES)}",
        )
    terms: tuple[str, ...] = ()
    if item.get("terms") is not None:
        terms = strings(r, item["terms"], (*at, "terms"), allow_empty=False)
        check_terms(r, name, terms, (*at, "terms"))
    authors: tuple[str, ...] = ()
    if item.get("authors") is not None:
        authors = strings(r, item["authors"], (*at, "authors"), allow_empty=False)
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
        brand=brand_ref(r, item.get("brand"), (*at, "brand"), brands),
    )


def author_key(author: str) -> str:
    """How accounts are compared: case-insensitive, without a leading ``@``."""
    return author.strip().removeprefix("@").strip().casefold()
