"""`digest --email` against a real SMTP server on 127.0.0.1 (aiosmtpd): the message,
refusals, and exactly-once delivery across failures and retries."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from typer.testing import CliRunner

import mentionwatch.cli.digest  # noqa: F401  (registers the command on the shared app)
from mentionwatch.cli import app
from mentionwatch.store import db as store
from mentionwatch.store import locking

from .test_digest import HOSTILE_TITLE, UNTIL, config_text, fill_store

runner = CliRunner()
SENDER = "mentionwatch@example.com"
TEAM = "webcare@example.com"


class Inbox:
    """An SMTP handler that keeps what it accepted and can refuse on request."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.refuse_data: list[str] = []  # replies for the next DATA commands, in order
        self.refuse_rcpt: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_data:
            return self.refuse_data.pop(0)
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((envelope, msg))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(inbox: Inbox, **smtp_options: Any) -> Iterator[Controller]:
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), **smtp_options)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp(inbox: Inbox) -> Iterator[Controller]:
    with _serve(inbox) as controller:
        yield controller


def _email_section(port: int, extra: str = "") -> str:
    return f"email:\n  host: 127.0.0.1\n  port: {port}\n  from: {SENDER}\n  to: [{TEAM}]\n{extra}"


@pytest.fixture
def project(tmp_path: Path, smtp: Controller, write_config: Callable[[str], Path]) -> Path:
    path = write_config(config_text(_email_section(smtp.port)))
    fill_store(tmp_path / "m.db")
    return path


def digest(*args: str) -> Any:
    return runner.invoke(app, ["digest", "--email", "--until", UNTIL, *args])


def delivered(tmp_path: Path, target: str = TEAM) -> set[str]:
    db = store.open_db(tmp_path / "m.db")
    try:
        return {
            r[0] for r in db.execute("SELECT mention_id FROM delivered WHERE target = ?", [target])
        }
    finally:
        db.close()


def countable(tmp_path: Path) -> set[str]:
    """Every mention an e-mail digest should carry: configured brands, not irrelevant."""
    db = store.open_db(tmp_path / "m.db")
    try:
        rows = db.execute(
            "SELECT id FROM mentions WHERE status != 'irrelevant' AND brand IN ('Acme', 'Globex')"
        ).fetchall()
        return {r[0] for r in rows}
    finally:
        db.close()


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    page = msg.get_body(("html",))
    assert text is not None
    assert page is not None
    assert isinstance(text, EmailMessage)
    assert isinstance(page, EmailMessage)
    return text.get_content(), page.get_content()


# ------------------------------------------------------------------ the happy path


def test_digest_arrives_as_multipart_alternative(
    project: Path, inbox: Inbox, tmp_path: Path
) -> None:
    result = digest()
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # stdout is for data; nothing asked for
    assert len(inbox.messages) == 1
    envelope, msg = inbox.messages[0]
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [TEAM]
    assert msg["To"] == TEAM
    assert msg["From"] == SENDER
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == (
        "Mentionwatch digest, last 24h to 2026-11-21 08:00 UTC: "
        "Acme 6 (3 negative), Globex 1 · 10 new"
    )
    text, page = parts(msg)
    assert "Acme: 6 mentions, up 4 from 2 (+200%)" in text
    # Every countable mention of any age is listed (the old ones too), once.
    assert "New since the last digest: 10 mentions" in text
    assert "Acme founded a lab" in text  # from ten days before the period
    assert "Acme in a cake recipe" not in text
    assert "Initech" not in text
    # The hostile post is text in the HTML part, never markup.
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page
    assert HOSTILE_TITLE in text  # plain text carries it as it was written
    # Marked as delivered: exactly what was carried.
    assert delivered(tmp_path) == countable(tmp_path)
    assert "sent the digest to webcare@example.com: 10 new mention(s)" in result.stderr


def test_to_overrides_config_and_keeps_its_own_bookkeeping(
    project: Path, inbox: Inbox, tmp_path: Path
) -> None:
    assert digest().exit_code == 0
    result = digest("--to", "Boss@Example.com", "--to", "ceo@example.com")
    assert result.exit_code == 0, result.output
    envelope, msg = inbox.messages[-1]
    assert sorted(envelope.rcpt_tos) == ["Boss@Example.com", "ceo@example.com"]
    # A new set of recipients has seen nothing yet: it gets everything.
    assert "10 new" in msg["Subject"]
    assert delivered(tmp_path, "boss@example.com,ceo@example.com") == countable(tmp_path)


def test_bad_recipient_is_a_usage_error(project: Path, inbox: Inbox) -> None:
    result = digest("--to", "not-an-address")
    assert result.exit_code == 2
    assert "not an e-mail address" in result.stderr
    assert inbox.messages == []


def test_no_email_section(tmp_path: Path, write_config: Callable[[str], Path]) -> None:
    write_config(config_text())
    fill_store(tmp_path / "m.db")
    result = digest()
    assert result.exit_code == 2
    assert "no `email:` section" in result.stderr


def test_list_is_capped_but_everything_carried_is_marked(
    project: Path, inbox: Inbox, tmp_path: Path
) -> None:
    result = digest("--limit", "2")
    assert result.exit_code == 0, result.output
    text, _ = parts(inbox.messages[0][1])
    assert "New since the last digest: 10 mentions, the top 2 by priority" in text
    assert delivered(tmp_path) == countable(tmp_path)
    assert "(2 listed)" in result.stderr


# ------------------------------------------------------------------ exactly once


def test_failure_then_retry_then_nothing_new(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    inbox.refuse_data = ["550 5.7.1 Message rejected as spam"]
    first = digest()
    assert first.exit_code == 1
    assert "550" in first.stderr
    assert "rejected" in first.stderr
    assert inbox.messages == []
    assert delivered(tmp_path) == set()  # refused: nothing counts as sent

    second = digest()  # the next morning's cron: catches up everything
    assert second.exit_code == 0, second.output
    assert len(inbox.messages) == 1
    assert delivered(tmp_path) == countable(tmp_path)

    third = digest()  # ran twice: sends nothing
    assert third.exit_code == 0, third.output
    assert len(inbox.messages) == 1
    assert "no new mentions" in third.stderr

    quiet = digest("--quiet")
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert quiet.stdout == ""


def test_only_new_mentions_in_the_next_digest(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    assert digest().exit_code == 0
    db = store.open_db(tmp_path / "m.db")
    from datetime import UTC, datetime

    from mentionwatch.models import Match, RawItem, Sentiment, SourceReport

    item = RawItem("n", "https://news.example/new", "Acme broke my heart", "sad", "zoe")
    store.save_source_run(
        db,
        source="news",
        source_type="rss",
        mentions=[
            store.NewMention(
                store.post_key("news", item),
                item,
                Match("Acme", ("Acme",), ()),
                Sentiment(-0.7, "negative", "test"),
            )
        ],
        state=None,
        report=SourceReport("news", "rss", "ok", items=1),
        fetched=datetime(2026, 11, 21, 7, 30, tzinfo=UTC),
    )
    db.close()
    assert digest().exit_code == 0
    _, msg = inbox.messages[-1]
    assert msg["Subject"].endswith("· 1 new")
    text, _ = parts(msg)
    assert "New since the last digest: 1 mention" in text
    assert "Acme broke my heart" in text
    assert "Acme support ignored me" not in text  # already sent yesterday


def test_recipient_refused_marks_nothing(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    inbox.refuse_rcpt = "550 5.1.1 No such user here"
    result = digest()
    assert result.exit_code == 1
    assert "refused every recipient" in result.stderr
    assert delivered(tmp_path) == set()


def test_auth_failure_marks_nothing(
    tmp_path: Path,
    inbox: Inbox,
    write_config: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def reject(*args: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    with _serve(inbox, authenticator=reject, auth_require_tls=False) as controller:
        extra = "  username: mw\n  password_env: MW_SMTP_PASSWORD\n"
        write_config(config_text(_email_section(controller.port, extra)))
        fill_store(tmp_path / "m.db")
        monkeypatch.setenv("MW_SMTP_PASSWORD", "wrong")
        result = digest()
        assert result.exit_code == 1
        assert "SMTP login refused" in result.stderr
        assert "535" in result.stderr
        assert inbox.messages == []
        assert delivered(tmp_path) == set()


def test_password_env_missing_is_an_error(
    tmp_path: Path, inbox: Inbox, smtp: Controller, write_config: Callable[[str], Path]
) -> None:
    extra = "  username: mw\n  password_env: MW_UNSET_PASSWORD\n"
    write_config(config_text(_email_section(smtp.port, extra)))
    fill_store(tmp_path / "m.db")
    result = digest()
    assert result.exit_code == 1
    assert "MW_UNSET_PASSWORD" in result.stderr
    assert delivered(tmp_path) == set()


def test_unreachable_server(
    tmp_path: Path, inbox: Inbox, write_config: Callable[[str], Path]
) -> None:
    write_config(config_text(_email_section(_free_port())))  # nobody listens there
    fill_store(tmp_path / "m.db")
    result = digest()
    assert result.exit_code == 1
    assert "cannot reach SMTP server" in result.stderr
    assert delivered(tmp_path) == set()


def test_a_running_scan_holds_the_digest_off(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    with locking.hold(tmp_path / "m.db", "scan"):
        result = digest()
    assert result.exit_code == 1
    assert "another mentionwatch run" in result.stderr
    assert inbox.messages == []
    assert delivered(tmp_path) == set()


# ------------------------------------------------------------------ options


def test_send_empty(project: Path, inbox: Inbox) -> None:
    assert digest().exit_code == 0
    result = digest("--send-empty")
    assert result.exit_code == 0, result.output
    assert len(inbox.messages) == 2
    _, msg = inbox.messages[-1]
    assert msg["Subject"].endswith("· no new mentions")
    text, page = parts(msg)
    assert "No new mentions since the last digest." in text
    assert "No new mentions since the last digest." in page
    # The statistics still cover the period.
    assert "Acme: 6 mentions" in text


def test_resend_repeats_the_last_digest(project: Path, inbox: Inbox) -> None:
    assert digest().exit_code == 0
    assert digest().exit_code == 0  # nothing new: nothing sent, the last digest stays
    result = digest("--resend")
    assert result.exit_code == 0, result.output
    assert len(inbox.messages) == 2
    first, again = inbox.messages[0][1], inbox.messages[1][1]
    assert again["Subject"] == first["Subject"]
    assert parts(again) == parts(first)
    assert again["Message-ID"] != first["Message-ID"]
    assert inbox.messages[1][0].rcpt_tos == [TEAM]
    assert "again" in result.stderr


def test_resend_without_a_digest(project: Path, inbox: Inbox) -> None:
    result = digest("--resend")
    assert result.exit_code == 2
    assert "no digest has been sent" in result.stderr
    assert inbox.messages == []


def test_dry_run_writes_eml_and_marks_nothing(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    out = tmp_path / "digest.eml"
    result = digest("--dry-run", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    msg = message_from_string(out.read_text(encoding="utf-8"), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"] == TEAM
    assert "10 new" in msg["Subject"]
    assert inbox.messages == []
    assert delivered(tmp_path) == set()

    to_stdout = digest("--dry-run")
    assert to_stdout.exit_code == 0
    assert "Content-Type: multipart/alternative" in to_stdout.stdout
    assert delivered(tmp_path) == set()
    # ...and the real run afterwards still carries everything.
    assert digest().exit_code == 0
    assert "10 new" in inbox.messages[0][1]["Subject"]


def test_format_is_not_for_email(project: Path) -> None:
    result = digest("--format", "json")
    assert result.exit_code == 2
    assert "--format" in result.stderr


# ------------------------------------------------------------------ subject = body

_SUBJECT_BRAND = re.compile(r"(?P<name>[^,:]+?) (?P<count>\d+)(?: \((?P<neg>\d+) negative\))?$")


def _subject_counts(subject: str) -> tuple[dict[str, tuple[int, int]], int]:
    """``...UTC: Acme 6 (3 negative), Globex 1 · 10 new`` as ({brand: (count, negative)},
    new)."""
    head, _, listing = subject.rpartition(" · ")
    new = 0 if listing == "no new mentions" else int(listing.removesuffix(" new"))
    brands = {}
    for part in head.split("UTC: ", 1)[1].split(", "):
        found = _SUBJECT_BRAND.fullmatch(part)
        assert found, part
        brands[found["name"]] = (int(found["count"]), int(found["neg"] or 0))
    return brands, new


def _body_counts(text: str) -> tuple[dict[str, tuple[int, int]], int]:
    """The same numbers from the text part: each brand's heading and sentiment line, and
    the list's heading."""
    brands = {}
    for found in re.finditer(
        r"^(?P<name>\S[^\n:]*): (?P<count>\d+) mentions?\b.*\n  sentiment .*?(?P<neg>\d+) negative",
        text,
        re.M,
    ):
        brands[found["name"]] = (int(found["count"]), int(found["neg"]))
    listed = re.search(r"^New since the last digest: (\d+) mentions?", text, re.M)
    if listed is None:
        assert "No new mentions since the last digest." in text
    return brands, int(listed[1]) if listed else 0


def test_subject_counts_equal_the_body(project: Path, inbox: Inbox, tmp_path: Path) -> None:
    """Whatever the digest carries, the subject's numbers are the body's: per brand the
    mentions and negative ones, and how many new mentions it lists."""
    runs = [
        (),  # the first: everything undelivered
        ("--send-empty",),  # nothing new since
        ("--brand", "Globex", "--to", "other@example.com", "--limit", "1"),
        ("--since", "7d", "--to", "third@example.com"),
    ]
    for args in runs:
        result = digest(*args)
        assert result.exit_code == 0, result.output
    assert len(inbox.messages) == len(runs)
    seen = []
    for _, msg in inbox.messages:
        text, page = parts(msg)
        subject_brands, subject_new = _subject_counts(msg["Subject"])
        body_brands, body_new = _body_counts(text)
        assert subject_brands == body_brands, (msg["Subject"], text)
        assert subject_new == body_new, (msg["Subject"], text)
        # The HTML part says the same.
        if subject_new:
            assert f"New since the last digest: {subject_new} mention" in page
        seen.append((subject_brands, subject_new))
    # The runs differ, so the comparison covered more than one case.
    assert seen[0] == ({"Acme": (6, 3), "Globex": (1, 0)}, 10)
    assert seen[1][1] == 0
    assert seen[2] == ({"Globex": (1, 0)}, 1)
    assert seen[3][0]["Acme"][0] > 6
