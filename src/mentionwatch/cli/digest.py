"""The `digest` command: summarise a period on stdout, or e-mail it exactly once.

E-mail rules (a cron job runs this with nobody watching):

* the statistics cover the ``--since`` window; the listed mentions are every one not
  yet in a digest a server accepted for this recipient set, of any age, so a failed
  morning is caught up the next day and a second run the same day sends nothing;
* mentions count as sent only once the SMTP server accepted the message
  (delivery.record after mailer.send); an SMTP failure marks nothing and exits 1;
* the run holds the database lock ("digest"), so two overlapping cron digests
  cannot both send the same mentions.
"""

from __future__ import annotations

import email.policy
import re
import sys
from email import message_from_string
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Annotated, Any

import sqlite_utils
import typer

from ..config.loader import Config
from ..config.model import EmailConfig
from ..errors import ConfigError
from ..report import delivery, mailer
from ..report.digest import Digest, build_digest, candidate_ids, make_period
from ..report.render import DigestFormat, render, render_html, render_rich, render_text, subject
from ..textutil import safe_text
from ..timeutil import parse_when, to_iso, utcnow
from .base import (
    ConfigOpt,
    DbOpt,
    QuietOpt,
    WaitOpt,
    app,
    handle_errors,
    load,
    open_store,
    quiet_mode,
)
from .output import console

SCREEN_LIMIT = 20  # mentions listed on screen by default
EMAIL_LIMIT = 50  # mentions listed in an e-mail; all carried ones are marked sent
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")


@app.command()
@handle_errors
def digest(
    since: Annotated[
        str,
        typer.Option(
            metavar="WHEN", help="The period: 24h, 7d, 2w (back from the end) or a date (UTC)."
        ),
    ] = "24h",
    until: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="End of the period (default: now); a date, or a duration back from now.",
            show_default=False,
        ),
    ] = None,
    brand: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Only this configured brand.", show_default=False),
    ] = None,
    fmt: Annotated[
        DigestFormat | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (default), markdown, html or json. Not with --email: the message "
            "carries text and HTML.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help=f"List at most this many mentions, highest priority first (default "
            f"{SCREEN_LIMIT}; {EMAIL_LIMIT} in e-mails, which still mark all they carry as sent).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to this file instead of stdout (with --email --dry-run: the .eml).",
            show_default=False,
        ),
    ] = None,
    send_email: Annotated[
        bool,
        typer.Option(
            "--email",
            help="E-mail the digest (text + HTML) via the config's email: section, listing "
            "the mentions not yet e-mailed to these recipients.",
        ),
    ] = False,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            metavar="ADDR",
            help="Recipient (repeatable; default: email.to in the config). Needs --email.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="With --email: write the .eml instead of sending; mark nothing."
        ),
    ] = False,
    send_empty: Annotated[
        bool,
        typer.Option(
            "--send-empty",
            help="With --email: send even when there are no new mentions (it says so).",
        ),
    ] = False,
    resend: Annotated[
        bool,
        typer.Option(
            "--resend",
            help="With --email: send the last accepted digest to these recipients again.",
        ),
    ] = False,
    wait: WaitOpt = 0.0,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Summarise a period per brand: counts and change, sentiment, volume, share of
    voice, top sources and authors, what needs an answer, source health."""
    email_only = {
        "--to": bool(to),
        "--dry-run": dry_run,
        "--send-empty": send_empty,
        "--resend": resend,
    }
    if not send_email:
        if given := [name for name, on in email_only.items() if on]:
            raise ConfigError(f"{', '.join(given)}: only with --email")
    elif fmt is not None:
        raise ConfigError("--format: not with --email (the message carries text and HTML)")
    cfg = load(config)
    end = parse_when(until, option="--until") if until else utcnow()
    period = make_period(since, end=end)

    if not send_email:
        with open_store(cfg, db, create=False) as database:
            result = build_digest(database, cfg, period, brand=brand, limit=limit or SCREEN_LIMIT)
        _print(result, fmt or DigestFormat.text, output)
        return

    email_cfg = _email_config(cfg)
    recipients = _recipients(to, email_cfg)
    target = delivery.target_key(recipients)
    # A dry run records nothing, so it need not wait for (or block) a running scan.
    lock = None if dry_run else "digest"
    with open_store(cfg, db, create=False, lock=lock, wait=wait) as database:
        if resend:
            _resend(database, email_cfg, target, dry_run=dry_run, output=output, quiet=quiet)
            return
        carried = candidate_ids(database, cfg, brand, target=target)
        if not carried and not send_empty:
            _say(f"no new mentions for {target} since the last digest; nothing sent", quiet)
            return
        result = build_digest(
            database, cfg, period, brand=brand, listed=carried, limit=limit or EMAIL_LIMIT
        )
        msg = mailer.build_message(
            email_cfg,
            subject=subject(result),
            text=render_text(result),
            html=render_html(result),
            to=recipients,
        )
        if dry_run:
            _write(msg.as_string(), output)
            return
        mailer.send(email_cfg, msg)
        delivery.record(
            database,
            kind="digest",
            channel="email",
            target=target,
            subject=str(msg["Subject"]),
            body=msg.as_string(),
            meta=_meta(result, brand),
            mention_ids=carried,
        )
    listed = len(result.mentions.items)
    capped = f" ({listed} listed)" if listed < len(carried) else ""
    _say(f"sent the digest to {target}: {len(carried)} new mention(s){capped}", quiet)


def _print(result: Digest, fmt: DigestFormat, output: Path | None) -> None:
    if fmt is DigestFormat.text and output is None and sys.stdout.isatty():
        console().print(render_rich(result))
        return
    _write(render(result, fmt), output)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc}") from None


def _say(message: str, quiet: bool) -> None:
    """The outcome of an e-mail run, on stderr, so a cron log shows what happened."""
    if not quiet_mode(quiet):
        console(stderr=True).print(safe_text(message), markup=False)


def _email_config(cfg: Config) -> EmailConfig:
    if cfg.email is None:
        where = f" ({cfg.path})" if cfg.path else ""
        raise ConfigError(f"--email: the config{where} has no `email:` section (host, from, to)")
    if not cfg.email.sender:
        raise ConfigError("--email: set `email.from` in the config (the sender address)")
    return cfg.email


def _recipients(to: list[str] | None, cfg: EmailConfig) -> list[str]:
    # --to a@x,b@y is accepted too: people type it that way.
    given = [a.strip() for value in to or [] for a in value.split(",") if a.strip()]
    recipients = given or list(cfg.to)
    if not recipients:
        raise ConfigError("--email: no recipients: set `email.to` in the config or pass --to")
    for address in recipients:
        if not _ADDRESS.match(address):
            source = "--to" if given else "email.to"
            raise ConfigError(f"{source}: {address!r} is not an e-mail address")
    return recipients


def _meta(result: Digest, brand: str | None) -> dict[str, Any]:
    return {
        "since": result.period.label,
        "start": to_iso(result.period.start),
        "end": to_iso(result.period.end),
        "brand": brand,
        "counts": {b.name: b.count for b in result.brands},
        "carried": result.mentions.total,
        "listed": len(result.mentions.items),
    }


def _resend(
    database: sqlite_utils.Database,
    cfg: EmailConfig,
    target: str,
    *,
    dry_run: bool,
    output: Path | None,
    quiet: bool,
) -> None:
    last = delivery.last(database, kind="digest", channel="email", target=target)
    if last is None:
        raise ConfigError(f"--resend: no digest has been sent to {target} yet")
    msg = message_from_string(last["body"], policy=email.policy.default)
    if not isinstance(msg, EmailMessage):  # the default policy always builds one
        raise ConfigError("--resend: the stored digest cannot be read back")
    # Same content; a fresh Date and Message-ID so mail clients don't drop it as a duplicate.
    del msg["Date"]
    del msg["Message-ID"]
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rpartition("@")[2] or None)
    if dry_run:
        _write(msg.as_string(), output)
        return
    mailer.send(cfg, msg)
    # Logged as a delivery (for the record) that carries no mentions: nothing new was sent.
    meta = {"resend_of": last["id"]}
    delivery.record(
        database,
        kind="digest",
        channel="email",
        target=target,
        subject=str(msg["Subject"]),
        body=msg.as_string(),
        meta=meta,
    )
    _say(f"sent the last digest ({last['accepted']}) to {target} again", quiet)
