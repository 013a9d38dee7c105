"""The digest on screen: content from a store of known mentions, golden text and
markdown, HTML that stays inert, JSON as the same content."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import mentionwatch.cli.digest  # noqa: F401  (registers the command on the shared app)
from mentionwatch.analysis.sentiment import label_for
from mentionwatch.cli import app
from mentionwatch.configure import parse_config
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport, SourceState, Span
from mentionwatch.report.digest import build_digest, make_period
from mentionwatch.report.render import md_text, render_html, render_markdown, render_text, sparkline
from mentionwatch.store import db as store
from mentionwatch.timeutil import to_iso
from mentionwatch.webcare.inbox import priority

runner = CliRunner()
GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
UNTIL = "2026-11-21T08:00:00Z"  # the fixed end of every period in these tests
HOSTILE_TITLE = "<script>alert(1)</script> Acme <b>bold</b> [click](javascript:alert(1)) ![x](y)"

CONFIG = """\
database: m.db
brands:
  - {{name: Acme, keywords: [Acme]}}
  - {{name: Globex, keywords: [Globex]}}
{email}sources:
  - {{name: news, url: "https://news.example/feed.xml"}}
  - {{name: hn, type: hackernews}}
  - {{name: broken, url: "https://broken.example/feed.xml"}}
  - {{name: quiet, url: "https://quiet.example/feed.xml"}}
  - {{name: idle, url: "https://idle.example/feed.xml"}}
"""


def config_text(email: str = "") -> str:
    return CONFIG.format(email=email)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# (source, url, title, author, published, brands, score, reach); label from the score.
POSTS: list[tuple[str, str, str, str, str, tuple[str, ...], float, int | None]] = [
    # the period: 2026-11-20 08:00 .. 2026-11-21 08:00
    ("news", "https://news.example/1", "Acme support ignored me for a week", "alice",
     "2026-11-21T06:30:00Z", ("Acme",), -0.8, 1200),
    ("hn", "https://hn.example/2", "Acme phone review: solid", "bob",
     "2026-11-20T12:10:00Z", ("Acme",), 0.6, 50),
    ("hn", "https://hn.example/3", "Acme raises prices", "alice",
     "2026-11-20T12:40:00Z", ("Acme",), 0.0, 300),
    ("news", "javascript:alert(1)", HOSTILE_TITLE, "<i>mallory</i>",
     "2026-11-20T20:00:00Z", ("Acme",), -0.4, None),
    ("hn", "https://hn.example/5", "Acme delivery late again", "carol",
     "2026-11-21T07:45:00Z", ("Acme",), -0.3, 10),
    ("news", "https://news.example/6", "Acme vs Globex: a comparison", "dave",
     "2026-11-20T09:05:00Z", ("Acme", "Globex"), 0.2, 80),
    ("news", "https://news.example/7", "Acme in a cake recipe", "erin",
     "2026-11-20T15:00:00Z", ("Acme",), 0.0, None),  # marked irrelevant below
    ("news", "https://news.example/8", "Initech ships", "frank",
     "2026-11-20T15:30:00Z", ("Initech",), 0.0, None),  # not a configured brand
    # the previous period: 2026-11-19 08:00 .. 2026-11-20 08:00
    ("news", "https://news.example/9", "Acme earnings", "alice",
     "2026-11-19T10:00:00Z", ("Acme",), 0.1, 40),
    ("hn", "https://hn.example/10", "Acme outage", "bob",
     "2026-11-19T22:00:00Z", ("Acme",), -0.6, 500),
    # long before: only an e-mail digest that has never sent it lists it
    ("news", "https://news.example/11", "Acme founded a lab", "gina",
     "2026-11-10T10:00:00Z", ("Acme",), 0.3, None),
]  # fmt: skip
IRRELEVANT_TITLE = "Acme in a cake recipe"


def fill_store(path: Path) -> None:
    """Known mentions and scan history, written the way a scan writes them."""
    db = store.open_db(path)
    by_run: dict[tuple[str, str], list[store.NewMention]] = {}
    for source, url, title, author, published, brands, score, reach in POSTS:
        at = _at(published)
        item = RawItem(
            external_id=url,
            url=url,
            title=title,
            text=f"{title}. More words about it here.",
            author=author,
            published=at,
            counters=(("points", reach),) if reach is not None else (),
        )
        # One scan run per source and day, an hour after the latest post it carries.
        run_at = to_run_time(at)
        for brand in brands:
            by_run.setdefault((source, run_at), []).append(
                store.NewMention(
                    post_id=store.post_key(source, item),
                    item=item,
                    match=Match(brand, (brand,), (Span(0, len(brand), brand),)),
                    sentiment=Sentiment(score, label_for(score), "test"),
                )
            )
    for (source, run_at), mentions in sorted(by_run.items(), key=lambda kv: kv[0][1]):
        kind = "hackernews" if source == "hn" else "rss"
        store.save_source_run(
            db,
            source=source,
            source_type=kind,
            mentions=mentions,
            state=SourceState(),
            report=SourceReport(source, kind, "ok", items=len(mentions) + 3),
            fetched=_at(run_at),
        )
    runs = [
        ("broken", "error", "HTTP 500 from broken.example", "2026-11-20T10:00:00Z"),
        ("broken", "error", "HTTP 503 from broken.example", "2026-11-21T07:00:00Z"),
        ("quiet", "not-modified", None, "2026-11-20T10:00:00Z"),
        ("quiet", "not-modified", None, "2026-11-21T07:00:00Z"),
        ("idle", "ok", None, "2026-11-18T07:00:00Z"),  # before the period: not run in it
    ]
    for name, status, error, at in runs:
        report = SourceReport(name, "rss", status, items=2 if status == "ok" else 0, error=error)
        store.save_source_states(db, [(name, "rss", None, report)], _at(at))
    db.execute(
        "UPDATE mentions SET status = 'irrelevant' WHERE post_id IN "
        "(SELECT id FROM posts WHERE title = ?)",
        [IRRELEVANT_TITLE],
    )
    db.close()


def to_run_time(published: datetime) -> str:
    run = published.replace(minute=0, second=0) + timedelta(hours=1)
    return run.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def filled(tmp_path: Path, write_config: Callable[[str], Path]) -> Path:
    path = write_config(config_text())
    fill_store(tmp_path / "m.db")
    return path


def _digest_obj(tmp_path: Path, since: str = "24h", brand: str | None = None) -> Any:
    cfg = parse_config(config_text(), path=tmp_path / "mentionwatch.yaml")
    db = store.open_db(tmp_path / "m.db")
    try:
        return build_digest(db, cfg, make_period(since, end=NOW), brand=brand)
    finally:
        db.close()


def check_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/<name>. To accept a deliberate change, regenerate:
    UPDATE_GOLDEN=1 python -m pytest tests/test_digest.py   (then review the diff)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ golden files


def test_text_digest_golden(filled: Path) -> None:
    result = runner.invoke(app, ["digest", "--since", "24h", "--until", UNTIL])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout  # not a terminal: no colour codes
    check_golden("digest.txt", result.stdout)


def test_markdown_digest_golden(filled: Path) -> None:
    result = runner.invoke(app, ["digest", "--until", UNTIL, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    check_golden("digest.md", result.stdout)


# ------------------------------------------------------------------ content


def test_json_is_the_content(filled: Path) -> None:
    result = runner.invoke(app, ["digest", "--until", UNTIL, "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == {
        "start": "2026-11-20T08:00:00Z",
        "end": "2026-11-21T08:00:00Z",
        "label": "24h",
        "bucket": "hour",
        "previous_start": "2026-11-19T08:00:00Z",
    }
    acme, globex = data["brands"]
    # 6 Acme mentions in the period; the irrelevant one and Initech's do not count.
    assert (acme["name"], acme["count"], globex["count"]) == ("Acme", 6, 1)
    assert acme["change"] == {"previous": 2, "delta": 4, "percent": 200.0}
    assert globex["change"] == {"previous": 0, "delta": 1, "percent": None}
    assert data["total"] == 7
    assert acme["sentiment"] == {
        "positive": 2,
        "neutral": 1,
        "negative": 3,
        "average": -0.117,
        "unscored": 0,
    }
    assert len(acme["volume"]) == 24
    assert sum(b["count"] for b in acme["volume"]) == 6
    assert acme["volume"][0] == {"start": "2026-11-20T08:00:00Z", "count": 0}
    assert acme["volume"][1] == {"start": "2026-11-20T09:00:00Z", "count": 1}
    # Ties go by name.
    assert acme["top_sources"] == [{"name": "hn", "count": 3}, {"name": "news", "count": 3}]
    assert acme["top_authors"][0] == {"name": "alice", "count": 2}
    assert data["share_of_voice"] == [
        {"name": "Acme", "count": 6, "share": 0.8571},
        {"name": "Globex", "count": 1, "share": 0.1429},
    ]
    needs = data["needs_answer"]
    assert [m["sentiment_label"] for m in needs] == ["negative"] * 3
    assert needs[0]["title"] == "Acme support ignored me for a week"  # negative, reach, recent
    assert [m["priority"] for m in needs] == sorted((m["priority"] for m in needs), reverse=True)
    listing = data["mentions"]
    assert listing["kind"] == "period"
    assert listing["total"] == 7
    titles = {m["title"] for m in listing["items"]}
    assert IRRELEVANT_TITLE not in titles
    assert "Initech ships" not in titles
    assert HOSTILE_TITLE in titles  # JSON is exact: data, not markup
    health = {s["name"]: s for s in data["sources"]}
    assert health["broken"]["problem"] == "failed"
    assert health["broken"]["last_error"] == "HTTP 503 from broken.example"
    assert health["broken"]["last_error_at"] == "2026-11-21T07:00:00Z"
    assert health["quiet"]["problem"] == "empty"
    assert health["idle"]["problem"] == "not-run"
    assert health["news"]["problem"] is None
    assert health["hn"]["problem"] is None


def test_brand_filter_keeps_share_of_voice(filled: Path) -> None:
    result = runner.invoke(app, ["digest", "--until", UNTIL, "--brand", "globex", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [b["name"] for b in data["brands"]] == ["Globex"]
    assert data["brand_filter"] == "Globex"
    assert data["total"] == 1
    assert [s["name"] for s in data["share_of_voice"]] == ["Acme", "Globex"]
    assert {m["brand"] for m in data["mentions"]["items"]} == {"Globex"}


def test_unknown_brand_is_a_usage_error(filled: Path) -> None:
    result = runner.invoke(app, ["digest", "--brand", "Initech"])
    assert result.exit_code == 2
    assert "not a configured brand" in result.stderr


@pytest.mark.parametrize(
    ("since", "bucket", "buckets"),
    # 7 days ending at 08:00 touch 8 calendar days: the first and last bars are partial.
    [("24h", "hour", 24), ("48h", "hour", 48), ("7d", "day", 8), ("2026-11-20", "hour", 32)],
)
def test_period_and_buckets(tmp_path: Path, since: str, bucket: str, buckets: int) -> None:
    period = make_period(since, end=NOW)
    assert period.end == NOW
    assert period.bucket == bucket
    assert period.previous_start == period.start - (NOW - period.start)
    fill_store(tmp_path / "m.db")
    d = _digest_obj(tmp_path, since)
    assert len(d.brands[0].volume) == buckets
    assert sum(b.count for b in d.brands[0].volume) == d.brands[0].count


@pytest.mark.parametrize(
    ("since", "buckets", "first"),
    [
        ("24h", 25, "2026-11-20T08:00:00Z"),  # 08:37 a day ago falls in the 08:00 hour
        ("7d", 8, "2026-11-14T00:00:00Z"),  # days from midnight UTC
        ("90d", 14, "2026-08-17T00:00:00Z"),  # weeks from Monday's midnight
    ],
)
def test_buckets_are_whole_hours_and_days(
    tmp_path: Path, since: str, buckets: int, first: str
) -> None:
    """A digest run at 08:37 draws clock hours (08:00-09:00...) and calendar days, not
    hours that start at :37: boundaries are aligned, never "now minus n buckets"."""
    end = NOW + timedelta(minutes=37)
    fill_store(tmp_path / "m.db")
    cfg = parse_config(config_text(), path=tmp_path / "mentionwatch.yaml")
    with store.open_db(tmp_path / "m.db") as database:
        d = build_digest(database, cfg, make_period(since, end=end))
    volume = d.brands[0].volume
    assert len(volume) == buckets
    assert to_iso(volume[0].start) == first
    size = volume[1].start - volume[0].start
    for b in volume:
        assert (b.start.minute, b.start.second) == (0, 0)
        if d.period.bucket != "hour":
            assert b.start.hour == 0
        if d.period.bucket == "week":
            assert b.start.weekday() == 0
    assert volume[0].start <= d.period.start < volume[0].start + size
    assert volume[-1].start < d.period.end <= volume[-1].start + size
    assert sum(b.count for b in volume) == d.brands[0].count > 0
    # The hour 12:00-13:00 on the 20th holds the two hn posts at 12:10 and 12:40.
    if since == "24h":
        assert {to_iso(b.start): b.count for b in volume}["2026-11-20T12:00:00Z"] == 2


def test_long_periods_use_weeks() -> None:
    assert make_period("90d", end=NOW).bucket == "week"


def test_since_after_until_is_a_usage_error(filled: Path) -> None:
    result = runner.invoke(app, ["digest", "--since", "2026-12-01", "--until", UNTIL])
    assert result.exit_code == 2
    assert "not before the end" in result.stderr


def test_email_options_need_email(filled: Path) -> None:
    for extra in (["--dry-run"], ["--to", "a@example.com"], ["--resend"], ["--send-empty"]):
        result = runner.invoke(app, ["digest", *extra])
        assert result.exit_code == 2, extra
        assert "only with --email" in result.stderr


def test_output_file(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "digest.html"
    result = runner.invoke(app, ["digest", "--until", UNTIL, "-f", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_no_database_yet(tmp_path: Path, write_config: Callable[[str], Path]) -> None:
    write_config(config_text())
    result = runner.invoke(app, ["digest"])
    assert result.exit_code == 1
    assert "no database here yet" in result.stderr


def test_empty_period(filled: Path) -> None:
    result = runner.invoke(app, ["digest", "--until", "2026-11-01T00:00:00Z", "--since", "24h"])
    assert result.exit_code == 0, result.output
    assert "No mentions in this period." in result.stdout
    assert "0 mentions, same as before (0)" in result.stdout


# ------------------------------------------------------------------ untrusted text


def test_html_is_escaped_and_script_free(tmp_path: Path) -> None:
    fill_store(tmp_path / "m.db")
    page = render_html(_digest_obj(tmp_path))
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<b>bold</b>" not in page
    assert "&lt;i&gt;mallory&lt;/i&gt;" in page
    # Only http(s) URLs become links; javascript: is shown as text.
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs
    assert all(h.startswith(("https://", "http://")) for h in hrefs)
    assert "javascript:alert(1)" in page  # as text
    # No images, no external stylesheets, no scripts: what mail clients draw as sent.
    for banned in ("<img", "<link", "<style", "<iframe", "onerror=", "onclick="):
        assert banned not in page.lower()


def test_markdown_cannot_inject_links_or_images(tmp_path: Path) -> None:
    fill_store(tmp_path / "m.db")
    md = render_markdown(_digest_obj(tmp_path))
    assert "](javascript" not in md
    assert "![x](y)" not in md
    assert r"\<script\>alert\(1\)\</script\>" in md
    assert "(<javascript" not in md  # the hostile post's URL is not a link target
    assert "[Acme support ignored me for a week](<https://news.example/1>)" in md


def test_markdown_renders_inert(tmp_path: Path) -> None:
    """Rendered by a real CommonMark parser (markdown-it-py, which rich depends on),
    the hostile title yields no link, image, or HTML: only the digest's own links."""
    from markdown_it import MarkdownIt

    fill_store(tmp_path / "m.db")
    page = MarkdownIt("commonmark").render(render_markdown(_digest_obj(tmp_path)))
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>bold</b>" not in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs
    assert all(h.startswith("https://") for h in hrefs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Acme &lt;b&gt;bold&lt;/b&gt;" in page
    assert "[click](javascript:alert(1)) ![x](y)" in page  # shown literally
    # Headings and lists come only from the digest itself.
    assert page.count("<h1>") == 1
    assert "<h2>Needs an answer</h2>" in page


def test_md_text_escapes_block_starts() -> None:
    assert md_text("# heading") == r"\# heading"
    assert md_text("- item") == r"\- item"
    assert md_text("1. item") == r"1\. item"
    assert md_text("a\x1b[31mred") == "ared"  # escape sequences never survive


def test_terminal_escapes_are_dropped(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "m.db")
    item = RawItem("x", "https://e.example/x", "\x1b[2JAcme \x1b]8;;https://evil\x07hi", "t")
    store.save_source_run(
        db,
        source="news",
        source_type="rss",
        mentions=[
            store.NewMention(
                store.post_key("news", item),
                item,
                Match("Acme", ("Acme",), ()),
                Sentiment(-0.5, "negative", "test"),
            )
        ],
        state=None,
        report=SourceReport("news", "rss", "ok", items=1),
        fetched=NOW - timedelta(hours=1),
    )
    db.close()
    from mentionwatch.report.render import render_text

    text = render_text(_digest_obj(tmp_path))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "Acme hi" in text


# ------------------------------------------------------------------ priority and charts


def test_priority_prefers_negative_reach_and_recent() -> None:
    base = priority(-0.5, 100, NOW - timedelta(hours=2), NOW)
    assert priority(-0.9, 100, NOW - timedelta(hours=2), NOW) > base  # more negative
    assert priority(-0.5, 10_000, NOW - timedelta(hours=2), NOW) > base  # more reach
    assert priority(-0.5, 100, NOW - timedelta(hours=30), NOW) < base  # older
    assert priority(0.9, 100, NOW - timedelta(hours=2), NOW) < base  # praise can wait
    # A day halves it; unknown reach counts as none.
    day_old = priority(-0.5, None, NOW - timedelta(hours=24), NOW)
    assert day_old == pytest.approx(priority(-0.5, 0, NOW, NOW) / 2, rel=1e-3)


def test_sparkline_scales_to_the_peak() -> None:
    from mentionwatch.report.digest import VolumeBucket

    buckets = tuple(VolumeBucket(NOW, c) for c in (0, 1, 4, 8))
    line = sparkline(buckets)
    assert len(line) == 4
    assert line[0] == "▁"
    assert line[-1] == "█"
    assert line[1] != "▁"  # any mention lifts a bucket off the floor
    assert sparkline(tuple(VolumeBucket(NOW, 0) for _ in range(3))) == "▁▁▁"


def test_terminal_text_is_the_plain_text_styled(tmp_path: Path) -> None:
    from mentionwatch.report.render import render_rich, render_text

    fill_store(tmp_path / "m.db")
    d = _digest_obj(tmp_path)
    styled = render_rich(d)
    assert styled.plain == render_text(d)
    assert styled.spans  # headings, tones and charts carry styles on a terminal


# ------------------------------------------------------------------ bars in the HTML


class _BarRows(HTMLParser):
    """Per row of the share-of-voice table: the brand name and the bar's cells.

    Each inner bar is a nested table; its cells are (width px, background colour).
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[tuple[int, str]]]] = []
        self._depth = 0
        self._in_sov = False
        self._first_cell_text: list[str] = []
        self._cell_index = 0
        self._sov_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "table":
            self._depth += 1
            if attr.get("data-chart") == "share-of-voice":
                self._in_sov = True
                self._sov_depth = self._depth
            return
        if not self._in_sov:
            return
        style = attr.get("style") or ""
        if tag == "tr" and self._depth == self._sov_depth:
            self.rows.append(("", []))
            self._cell_index = 0
        elif tag == "td" and self._depth == self._sov_depth:
            self._cell_index += 1
        elif tag == "td" and self._depth == self._sov_depth + 1:
            width = re.search(r"width:(\d+)px", style)
            colour = re.search(r"background:(#[0-9a-f]+)", style)
            assert width, style
            assert colour, style
            self.rows[-1][1].append((int(width.group(1)), colour.group(1)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            if self._in_sov and self._depth == self._sov_depth:
                self._in_sov = False
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._in_sov and self._depth == self._sov_depth and self._cell_index == 1:
            name, cells = self.rows[-1]
            self.rows[-1] = (name + data.strip(), cells)


def test_share_of_voice_bars_are_as_wide_as_the_shares(tmp_path: Path) -> None:
    fill_store(tmp_path / "m.db")
    digest = _digest_obj(tmp_path)
    parser = _BarRows()
    parser.feed(render_html(digest))
    rows = dict(parser.rows)
    assert set(rows) == {"Acme", "Globex"}
    for share in digest.share_of_voice:
        cells = rows[share.name]
        assert sum(w for w, _ in cells) == 200  # the track is always the same width
        filled = cells[0][0]
        assert filled == round(share.share * 200)
        assert cells[-1][1] == "#e5e7eb"  # the rest is the grey track
    # 86 % and 14 %: not two full-width bars any more.
    assert rows["Acme"][0][0] == 171
    assert rows["Globex"][0][0] == 29


def test_written_for_people_not_engineers(tmp_path: Path) -> None:
    fill_store(tmp_path / "m.db")
    digest = _digest_obj(tmp_path)
    text = render_markdown(digest)
    page = render_html(digest)
    for rendered in (text, page):
        assert "priority" not in rendered  # no internal scores
        assert "1.2k points" in rendered
    # "Needs an answer" is not repeated in the list that follows it.
    listed = text.split("## Mentions in the period")[1]
    for m in digest.needs_answer:
        assert m.url not in listed
    assert "3 of them are under Needs an answer above" in listed
    # One scale for all brands' volume charts: Globex's single mention is not full height.
    heights = [int(h) for h in re.findall(r"height:(\d+)px;background:#2563eb", page)]
    assert max(heights) > min(heights)


def test_trends_per_brand(filled: Path, tmp_path: Path) -> None:
    """This period against the ones before it, counted by SQL: volume, share of negative
    and share of voice per brand; in JSON, and as inline charts in the HTML."""
    result = runner.invoke(app, ["digest", "--until", UNTIL, "-f", "json"])
    assert result.exit_code == 0, result.output
    trends = {t["name"]: t["points"] for t in json.loads(result.stdout)["trends"]}
    acme, globex = trends["Acme"], trends["Globex"]
    assert len(acme) == 8
    assert acme[-1]["start"] == "2026-11-20T08:00:00Z"
    assert [p["count"] for p in acme[-2:]] == [2, 6]  # as in the brand summary's change
    assert [p["negative_share"] for p in acme[-2:]] == [0.5, 0.5]
    assert [p["share_of_voice"] for p in acme[-2:]] == [1.0, 0.8571]
    assert [p["count"] for p in globex[-2:]] == [0, 1]
    assert globex[-2]["negative_share"] is None  # nothing to measure, not 0 %
    # The mention of 2026-11-10 is in the period 11 days back: outside the 8 shown.
    assert sum(p["count"] for p in acme) == 8
    fill_store(tmp_path / "html" / "m.db")
    page = render_html(_digest_obj(tmp_path / "html"))
    assert 'data-chart="trends"' in page


def test_excerpt_starts_near_the_brand_and_highlights_it(tmp_path: Path) -> None:
    preamble = " ".join(f"word{i}" for i in range(60))  # ~400 characters before the brand
    item = RawItem(
        external_id="x",
        url="https://news.example/long",
        title="A long post",
        text=f"{preamble} and then Acme <b>support</b> was slow. More after.",
        author="zed",
        published=_at("2026-11-21T05:00:00Z"),
    )
    db = store.open_db(tmp_path / "m.db")
    store.save_source_run(
        db,
        source="news",
        source_type="rss",
        mentions=[
            store.NewMention(
                post_id=store.post_key("news", item),
                item=item,
                match=Match("Acme", ("Acme",), (Span(0, 4, "Acme"),)),
                sentiment=Sentiment(-0.5, "negative", "test"),
            )
        ],
        state=SourceState(),
        report=SourceReport("news", "rss", "ok", items=1),
        fetched=_at("2026-11-21T06:00:00Z"),
    )
    db.close()
    (listed,) = _digest_obj(tmp_path).mentions.items
    assert listed.excerpt.startswith("…word")
    assert listed.excerpt.index("Acme") < 70  # the reader sees the brand at once
    ((start, end),) = listed.highlights
    assert listed.excerpt[start:end] == "Acme"
    page = render_html(_digest_obj(tmp_path))
    assert "<b>Acme</b> &lt;b&gt;support&lt;/b&gt;" in page  # bold brand, inert markup


def test_why_it_needs_an_answer_in_words(
    tmp_path: Path, write_config: Callable[[str], Path]
) -> None:
    """The reason line reads "negative, 12k followers, waiting 6 h": the tone, the
    audience under the name the source gives it, and the wait; past a response target,
    by how much. The plain list of the period says no wait."""
    write_config(config_text())
    db = store.open_db(tmp_path / "m.db")
    posts = [
        ("m1", "Acme lost my parcel", -0.7, NOW - timedelta(hours=6),
         (("followers", 12_000), ("likes", 3))),
        ("m2", "Acme is fine", 0.5, NOW - timedelta(hours=3), (("points", 1),)),
    ]  # fmt: skip
    for key, title, score, at, counters in posts:
        item = RawItem(key, f"https://m.example/{key}", title, title, "zed", at, counters=counters)
        store.save_source_run(
            db,
            source="mast",
            source_type="mastodon",
            mentions=[
                store.NewMention(
                    store.post_key("mast", item),
                    item,
                    Match("Acme", ("Acme",), (Span(0, 4, "Acme"),)),
                    Sentiment(score, label_for(score), "test"),
                )
            ],
            state=SourceState(),
            report=SourceReport("mast", "mastodon", "ok", items=1),
            fetched=at,
        )
    db.close()
    cfg = parse_config(config_text(), path=tmp_path / "mentionwatch.yaml")
    with store.open_db(tmp_path / "m.db") as database:
        d = build_digest(database, cfg, make_period("24h", end=NOW))
    text, md, page = render_text(d), render_markdown(d), render_html(d)
    for rendered in (text, md, page):
        assert "negative, 12k followers, waiting 6 h · mast · by zed" in rendered
        assert "positive, 1 point · mast" in rendered  # one point; no wait: not to answer
        assert "waiting 3 h" not in rendered
    assert [m.waiting for m in d.needs_answer] == [timedelta(hours=6)]

    overdue = parse_config(
        config_text().replace("[Acme]}", "[Acme], respond_within: 4h}"),
        path=tmp_path / "mentionwatch.yaml",
    )
    with store.open_db(tmp_path / "m.db") as database:
        late = build_digest(database, overdue, make_period("24h", end=NOW))
    assert "negative, 12k followers, waiting 6 h (2 h past its target)" in render_text(late)
