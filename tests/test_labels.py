"""Relevance labels and measured precision: labelling by id, prefix and keypress, the
history and status they leave, the Wilson interval against published values, the
precision report (table and JSON), and irrelevant mentions leaving listings, digests
and alerts."""

from __future__ import annotations

import itertools
import json
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.config.alerts import AlertsConfig, SpikeRule, UrgentRule
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport, Span
from mentionwatch.report.alerts import evaluate
from mentionwatch.store import db as store
from mentionwatch.webcare import labels

runner = CliRunner()
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
UNTIL = "2026-11-20T12:00:00Z"
MIN = timedelta(minutes=1)
_posts = itertools.count()  # every stored post gets its own URL
HOSTILE = "\x1b[31mred\x1b]8;;https://evil.example\x07 [bold]x[/bold]"

# (title, text, brand, matched terms, minutes before NOW); newest first, as listings order.
POSTS: list[tuple[str, str, str, tuple[str, ...], int]] = [
    ("iPhone 17 review", "The iphone battery lasts two days.", "Apple", ("iphone",), 10),
    ("iPhone sales up", "Record iphone quarter.", "Apple", ("iphone",), 20),
    ("iPhone camera test", "The iphone camera wins.", "Apple", ("iphone",), 30),
    ("iPhone repair", "Screen repair for the iphone.", "Apple", ("iphone",), 40),
    ("iPhone cases", "Cases for every iphone.", "Apple", ("iphone",), 50),
    ("iPhone in Norway", "The iphone sells well.", "Apple", ("iphone",), 60),
    ("Apple keynote", "Apple shows the new iphone.", "Apple", ("apple", "iphone"), 70),
    ("Apple store opens", "Apple opens a store; iphone queues.", "Apple", ("apple", "iphone"), 80),
    ("Apple pie recipe", "Bake an apple pie with cinnamon.", "Apple", ("apple",), 90),
    ("Apple orchard", "Picking apple varieties in autumn.", "Apple", ("apple",), 100),
    ("Apple juice", "Fresh apple juice every morning.", "Apple", ("apple",), 110),
    ("iPhone rumours", "Next iphone may fold.", "Apple", ("iphone",), 120),
    ("Shell results", "Shell profits rise.", "Shell", ("shell",), 130),
    ("Shell on the beach", "A shell I found.", "Shell", ("shell",), 140),
    (HOSTILE, "Shell stations close.", "Shell", ("shell",), 150),
]
RELEVANT = list(range(8))  # the first 8 Apple posts
IRRELEVANT = [8, 9]  # apple pie, orchard; 10 (juice) and 11 stay unlabelled


def _spans(title: str, text: str, terms: tuple[str, ...]) -> tuple[Span, ...]:
    combined = f"{title}\n{text}".lower()
    out = []
    for term in terms:
        at = combined.find(term.lower())
        if at >= 0:
            out.append(Span(at, at + len(term), term))
    return tuple(out)


def fill(
    db: sqlite_utils.Database, posts: list[tuple[str, str, str, tuple[str, ...], int]]
) -> list[str]:
    """Store the posts through the real write path; their mention ids, in order."""
    mentions = []
    for title, text, brand, terms, ago in posts:
        i = next(_posts)
        item = RawItem(
            external_id=str(i),
            url=f"https://news.example/{i}",
            title=title,
            text=text,
            author="someone",
            published=NOW - ago * MIN,
        )
        mentions.append(
            store.NewMention(
                post_id=store.post_key("news", item),
                item=item,
                match=Match(brand, terms, _spans(title, text, terms)),
                sentiment=Sentiment(0.0, "neutral", "test"),
            )
        )
    store.save_source_run(
        db,
        source="news",
        source_type="rss",
        mentions=mentions,
        state=None,
        report=SourceReport("news", "rss", "ok", items=len(posts)),
        fetched=NOW,
    )
    return [store.mention_key(m.post_id, m.match.brand) for m in mentions]


@pytest.fixture
def filled(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "m.db"
    db = store.open_db(path)
    ids = fill(db, POSTS)
    db.close()
    return path, ids


def invoke(path: Path, *args: str, input: str | None = None) -> Any:
    return runner.invoke(app, [*args, "--db", str(path)], input=input)


def read(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    db = store.open_db(path)
    try:
        return [tuple(r) for r in db.execute(sql, params or []).fetchall()]
    finally:
        db.close()


def statuses(path: Path) -> dict[str, str]:
    return dict(read(path, "SELECT id, status FROM mentions"))  # type: ignore[arg-type]


def unique_prefix(ids: list[str], mention_id: str) -> str:
    for k in range(1, len(mention_id)):
        prefix = mention_id[:k]
        if sum(other.startswith(prefix) for other in ids) == 1:
            return prefix
    return mention_id


# ---------------------------------------------------------------------------- labelling


def test_label_several_ids_records_label_status_and_history(
    filled: tuple[Path, list[str]],
) -> None:
    path, ids = filled
    result = invoke(path, "label", ids[8], ids[9], "irrelevant", "--as", "kari")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # data only on stdout; the summary is for people (stderr)
    assert "labelled 2 mention(s) irrelevant" in result.stderr
    rows = read(path, "SELECT mention_id, label, labelled_by FROM labels ORDER BY mention_id")
    assert rows == sorted([(ids[8], "irrelevant", "kari"), (ids[9], "irrelevant", "kari")])
    (at,) = {r[0] for r in read(path, "SELECT labelled_at FROM labels")}
    assert at.endswith("Z")  # UTC ISO 8601, like every time in the store
    st = statuses(path)
    assert (st[ids[8]], st[ids[9]], st[ids[10]]) == ("irrelevant", "irrelevant", "new")
    events = read(
        path, "SELECT mention_id, who, action, value FROM mention_events WHERE mention_id = ?",
        [ids[8]],
    )  # fmt: skip
    assert events == [
        (ids[8], "kari", "label", "irrelevant"),
        (ids[8], "kari", "status", "irrelevant"),
    ]


def test_labeller_defaults_to_user(
    filled: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ids = filled
    monkeypatch.setenv("USER", "ola")
    assert invoke(path, "label", ids[0], "relevant").exit_code == 0
    assert read(path, "SELECT labelled_by FROM labels") == [("ola",)]
    assert read(path, "SELECT who, action, value FROM mention_events") == [
        ("ola", "label", "relevant")  # relevant on a new mention changes no status
    ]


def test_prefix_ids_and_repeats(filled: tuple[Path, list[str]]) -> None:
    path, ids = filled
    prefixes = [unique_prefix(ids, ids[i]) for i in (0, 1)]
    assert all(len(p) < 16 for p in prefixes)
    result = invoke(path, "label", prefixes[0], prefixes[1].upper(), ids[0], "RELEVANT")
    assert result.exit_code == 0, result.output
    assert read(path, "SELECT mention_id, label FROM labels ORDER BY mention_id") == sorted(
        [(ids[0], "relevant"), (ids[1], "relevant")]
    )
    # The same mention named twice is labelled once.
    assert read(path, "SELECT count(*) FROM mention_events") == [(2,)]


def _ambiguous_prefix(ids: list[str]) -> str:
    ordered = sorted(ids)
    for a, b in itertools.pairwise(ordered):
        if a[0] == b[0]:
            return a[0]
    raise AssertionError("no two ids share a first character")


@pytest.mark.parametrize("bad", ["0000000000000000", "zz-not-hex", "AMBIGUOUS"])
def test_unknown_or_ambiguous_id_writes_nothing(filled: tuple[Path, list[str]], bad: str) -> None:
    path, ids = filled
    if bad == "AMBIGUOUS":
        bad = _ambiguous_prefix(ids)
    before = statuses(path)
    result = invoke(path, "label", ids[0], bad, ids[1], "irrelevant")
    assert result.exit_code == 2
    assert repr(bad.lower() if bad != "zz-not-hex" else bad) in result.stderr
    assert "Traceback" not in result.output
    assert read(path, "SELECT count(*) FROM labels") == [(0,)]
    assert read(path, "SELECT count(*) FROM mention_events") == [(0,)]
    assert statuses(path) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give mention ids and a label"),
        (["relevant"], "give mention ids before the label"),
        (["abc", "maybe"], "expected a label, relevant or irrelevant, got 'maybe'"),
        (["-i", "abc", "relevant"], "--interactive: give no ids"),
        (["abc", "relevant", "--unlabelled"], "--unlabelled: only with --interactive"),
        (["abc", "relevant", "--as", " "], "--as: give a name"),
    ],
)
def test_label_usage_errors(filled: tuple[Path, list[str]], args: list[str], message: str) -> None:
    path, _ = filled
    result = invoke(path, "label", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_relevant_after_irrelevant_restores_the_status(filled: tuple[Path, list[str]]) -> None:
    path, ids = filled
    mid, plain = ids[8], ids[9]
    # The inbox moved it to open (and recorded that, as every status change is).
    db = store.open_db(path)
    with store.transaction(db):
        db.execute("UPDATE mentions SET status = 'open' WHERE id = ?", [mid])
        db.execute(
            "INSERT INTO mention_events (mention_id, at, who, action, value) "
            "VALUES (?, '2026-11-20T11:00:00Z', 'per', 'status', 'open')",
            [mid],
        )
    db.close()
    assert invoke(path, "label", mid, plain, "irrelevant", "--as", "a").exit_code == 0
    assert (statuses(path)[mid], statuses(path)[plain]) == ("irrelevant", "irrelevant")
    # Labelled irrelevant twice: still one way back.
    assert invoke(path, "label", mid, "irrelevant", "--as", "b").exit_code == 0
    assert invoke(path, "label", mid, plain, "relevant", "--as", "c").exit_code == 0
    st = statuses(path)
    assert (st[mid], st[plain]) == ("open", "new")  # no history before: the default
    assert read(path, "SELECT label, labelled_by FROM labels WHERE mention_id = ?", [mid]) == [
        ("relevant", "c")
    ]
    history = read(
        path, "SELECT who, action, value FROM mention_events WHERE mention_id = ? ORDER BY id",
        [mid],
    )  # fmt: skip
    assert history == [
        ("per", "status", "open"),
        ("a", "label", "irrelevant"),
        ("a", "status", "irrelevant"),
        ("b", "label", "irrelevant"),
        ("c", "label", "relevant"),
        ("c", "status", "open"),
    ]


def test_relevant_leaves_an_inbox_status_alone(filled: tuple[Path, list[str]]) -> None:
    path, ids = filled
    db = store.open_db(path)
    with store.transaction(db):
        db.execute("UPDATE mentions SET status = 'responded' WHERE id = ?", [ids[0]])
    done = labels.label_mentions(db, [ids[0]], "relevant", who="x", at=NOW)
    db.close()
    assert done == [labels.Labelled(ids[0], "relevant", None, "responded", "responded")]
    assert statuses(path)[ids[0]] == "responded"


# -------------------------------------------------------------------------- interactive


def test_interactive_keys_label_one_by_one(filled: tuple[Path, list[str]]) -> None:
    path, ids = filled
    # r: first (newest), i: second, a space is ignored, x is not a key, q: quit.
    result = invoke(path, "label", "--interactive", "--as", "kari", input="ri xq")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the cards are for a person: stderr
    err = result.stderr
    assert [n for n in range(1, 16) if f"[{n}/15]" in err] == [1, 2, 3]
    assert "iPhone 17 review\nThe iphone battery lasts two days." in err
    assert "matched: iphone" in err
    assert "press r relevant" in err  # after the x
    assert "labelled 2 mention(s): 1 relevant, 1 irrelevant; 0 skipped" in err
    assert read(
        path, "SELECT mention_id, label, labelled_by FROM labels ORDER BY labelled_at, rowid"
    ) == [
        (ids[0], "relevant", "kari"),
        (ids[1], "irrelevant", "kari"),
    ]
    assert statuses(path)[ids[1]] == "irrelevant"


def test_interactive_unlabelled_brand_skip_and_end_of_input(
    filled: tuple[Path, list[str]],
) -> None:
    path, ids = filled
    assert invoke(path, "label", ids[12], "relevant").exit_code == 0
    # Only Shell's unlabelled mentions: 13, then 14 (hostile title). s skips one; the
    # input ends after i, which quits.
    result = invoke(path, "label", "-i", "--brand", "shell", "--unlabelled", input="si")
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "[1/2]" in err
    assert "Shell on the beach" in err
    assert "[2/2]" in err
    assert "label: none" in err
    assert "\x1b" not in err  # escapes dropped...
    assert "red [bold]x[/bold]" in err  # ...and markup shown as text
    assert "0 relevant, 1 irrelevant; 1 skipped" in err
    assert read(path, "SELECT label FROM labels WHERE mention_id = ?", [ids[14]]) == [
        ("irrelevant",)
    ]
    assert read(path, "SELECT count(*) FROM labels WHERE mention_id = ?", [ids[13]]) == [(0,)]
    nothing = invoke(path, "label", "-i", "--brand", "nobody", input="r")
    assert nothing.exit_code == 0
    assert "no mentions of nobody to label" in nothing.stderr


# ---------------------------------------------------------------------------- precision


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.490, 0.943),
        # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (Wilson).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_interval_known_values(successes: int, n: int, low: float, high: float) -> None:
    digits = len(str(low).split(".")[1]) if low else 4
    got = labels.wilson_interval(successes, n)
    assert (round(got[0], digits), round(got[1], max(digits, 3))) == (low, high)


def test_wilson_interval_needs_trials() -> None:
    with pytest.raises(ValueError, match="n > 0"):
        labels.wilson_interval(0, 0)
    with pytest.raises(ValueError):
        labels.wilson_interval(3, 2)


def _label_fixture(path: Path, ids: list[str]) -> None:
    relevant = invoke(path, "label", *[ids[i] for i in RELEVANT], "relevant")
    irrelevant = invoke(path, "label", *[ids[i] for i in IRRELEVANT], "irrelevant")
    assert relevant.exit_code == irrelevant.exit_code == 0


def _rounded(interval: list[float] | None) -> list[float] | None:
    return [round(x, 3) for x in interval] if interval else None


def test_precision_json_per_brand_and_keyword(filled: tuple[Path, list[str]]) -> None:
    path, ids = filled
    _label_fixture(path, ids)
    result = invoke(path, "precision", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["confidence"], data["labelled"]) == (0.95, 10)
    apple, shell = data["brands"]
    assert {k: apple[k] for k in ("brand", "mentions", "labelled", "relevant", "irrelevant",
                                   "unlabelled", "precision")} == {
        "brand": "Apple", "mentions": 12, "labelled": 10, "relevant": 8, "irrelevant": 2,
        "unlabelled": 2, "precision": 0.8,
    }  # fmt: skip
    assert _rounded(apple["interval"]) == [0.490, 0.943]
    # A mention counts for each keyword it matched: the two keynote/store posts are in both.
    by_kw = {k["keyword"]: k for k in apple["keywords"]}
    assert [k["keyword"] for k in apple["keywords"]] == ["iphone", "apple"]  # most first
    iphone, fruit = by_kw["iphone"], by_kw["apple"]
    assert (iphone["mentions"], iphone["relevant"], iphone["irrelevant"], iphone["unlabelled"]) == (
        9, 8, 0, 1,
    )  # fmt: skip
    assert iphone["precision"] == 1.0
    assert _rounded(iphone["interval"]) == [0.676, 1.0]
    assert (fruit["mentions"], fruit["relevant"], fruit["irrelevant"], fruit["unlabelled"]) == (
        5, 2, 2, 1,
    )  # fmt: skip
    assert fruit["precision"] == 0.5
    assert _rounded(fruit["interval"]) == [0.150, 0.850]
    assert apple["noisiest"] == [{"keyword": "apple", "irrelevant": 2, "of": 2}]
    # No labels: no precision, not 0 and not NaN.
    assert (shell["mentions"], shell["labelled"], shell["precision"], shell["interval"]) == (
        3, 0, None, None,
    )  # fmt: skip
    assert shell["noisiest"] == []


def test_precision_table(filled: tuple[Path, list[str]]) -> None:
    path, ids = filled
    _label_fixture(path, ids)
    result = invoke(path, "precision")
    assert result.exit_code == 0, result.output
    out = result.stdout
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["Apple"] == ["12", "8", "2", "2", "80.0%", "[49.0,", "94.3]"]
    assert lines["iphone"] == ["9", "8", "0", "1", "100.0%", "[67.6,", "100.0]"]
    assert lines["apple"] == ["5", "2", "2", "1", "50.0%", "[15.0,", "85.0]"]
    assert lines["Shell"] == ["3", "0", "0", "3", "no", "labels"]  # not 0%, not NaN
    assert max(len(line) for line in out.splitlines()) <= 80  # CliRunner's width
    assert "Apple: most irrelevant mentions come from: 'apple' (2 of 2)" in out
    assert "\x1b" not in out  # the hostile title is never shown here, nor escapes


def test_precision_for_one_brand_and_since(filled: tuple[Path, list[str]]) -> None:
    path, ids = filled
    _label_fixture(path, ids)
    data = json.loads(invoke(path, "precision", "apple", "-f", "json").stdout)
    assert [b["brand"] for b in data["brands"]] == ["Apple"]
    # Since 55 minutes before NOW: the five newest Apple posts, all labelled relevant.
    recent = invoke(path, "precision", "Apple", "--since", "2026-11-20T11:05:00Z", "-f", "json")
    (apple,) = json.loads(recent.stdout)["brands"]
    assert (apple["mentions"], apple["relevant"], apple["irrelevant"]) == (5, 5, 0)
    later = invoke(path, "precision", "Shell", "--since", "2026-11-20T11:05:00Z", "-f", "json")
    assert later.exit_code == 0
    assert json.loads(later.stdout)["brands"] == []
    unknown = invoke(path, "precision", "Pear")
    assert unknown.exit_code == 2
    assert "no mentions of brand 'Pear' stored (brands: Apple, Shell)" in unknown.stderr


def test_precision_without_labels_says_so(filled: tuple[Path, list[str]]) -> None:
    path, _ = filled
    result = invoke(path, "precision")
    assert result.exit_code == 0
    assert "no labelled mentions yet" in result.stderr
    assert result.stdout.count("no labels") == 5  # two brands, three keywords
    assert "0.0%" not in result.stdout
    assert "nan" not in result.stdout.lower()
    data = json.loads(invoke(path, "precision", "-f", "json").stdout)
    assert data["labelled"] == 0
    assert {b["precision"] for b in data["brands"]} == {None}


def test_noisiest_names_the_fewest_keywords_covering_most() -> None:
    ids = [str(i) for i in range(15)]
    one = labels.noisiest({"apple": set(ids[:12]), "pie": set(ids[9:14]), "tart": {"14"}}, 15)
    assert one == (labels.NoiseSource("apple", 12, 15),)
    assert labels.noise_text(one) == "'apple' (12 of 15)"
    two = labels.noisiest({"a": set(ids[:5]), "b": set(ids[5:9]), "c": set(ids[9:12])}, 12)
    assert [(n.keyword, n.irrelevant) for n in two] == [("a", 5), ("b", 4)]
    # A keyword whose mentions the ones before it already cover is not named.
    covered = labels.noisiest({"a": set(ids[:4]), "b": set(ids[:3]), "c": set(ids[4:6])}, 10)
    assert [n.keyword for n in covered] == ["a", "c"]
    assert labels.noisiest({}, 0) == ()


# ----------------------------------------------------------------- irrelevant leaves


def test_irrelevant_leaves_default_listings(filled: tuple[Path, list[str]]) -> None:
    path, ids = filled
    assert invoke(path, "label", ids[8], ids[9], "irrelevant").exit_code == 0
    listed = [r["id"] for r in json.loads(invoke(path, "mentions", "-f", "json").stdout)]
    assert len(listed) == 13
    assert not {ids[8], ids[9]} & set(listed)
    only = json.loads(invoke(path, "mentions", "--status", "irrelevant", "-f", "json").stdout)
    assert sorted(r["id"] for r in only) == sorted([ids[8], ids[9]])
    assert {r["status"] for r in only} == {"irrelevant"}
    everything = json.loads(invoke(path, "mentions", "--all", "-f", "json").stdout)
    assert len(everything) == 15
    # Back to relevant: listed again.
    assert invoke(path, "label", ids[8], "relevant").exit_code == 0
    listed = [r["id"] for r in json.loads(invoke(path, "mentions", "-f", "json").stdout)]
    assert ids[8] in listed
    assert ids[9] not in listed
    # Asked for by id (as `scan` lists what it stored), a mention is always returned.
    db = store.open_db(path)
    by_id = store.query_mentions(db, store.MentionFilter(ids=(ids[9],)))
    db.close()
    assert [r["id"] for r in by_id] == [ids[9]]


def test_irrelevant_leaves_the_digest(
    filled: tuple[Path, list[str]], write_config: Callable[[str], Path]
) -> None:
    path, ids = filled
    write_config(
        textwrap.dedent(
            f"""\
            database: {path}
            brands:
              - {{name: Apple, keywords: [apple, iphone]}}
              - {{name: Shell, keywords: [shell]}}
            sources:
              - {{name: news, url: "https://news.example/feed.xml"}}
            """
        )
    )

    def digest() -> dict[str, Any]:
        result = runner.invoke(app, ["digest", "--until", UNTIL, "-f", "json"])
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    before = digest()
    assert {b["name"]: b["count"] for b in before["brands"]} == {"Apple": 12, "Shell": 3}
    assert invoke(path, "label", ids[8], ids[9], ids[13], "irrelevant").exit_code == 0
    after = digest()
    assert {b["name"]: b["count"] for b in after["brands"]} == {"Apple": 10, "Shell": 2}
    titles = {m["title"] for m in after["mentions"]["items"]}
    assert not titles & {"Apple pie recipe", "Apple orchard", "Shell on the beach"}
    assert "Apple juice" in titles  # unlabelled stays


def test_irrelevant_mentions_neither_spike_nor_fire(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "a.db")
    # Six Apple mentions in the last hour after a silent day: a spike (min_count 5)...
    spike_ids = fill(db, [(f"Apple thing {i}", "", "Apple", ("apple",), 5 + i) for i in range(6)])
    rule = SpikeRule(name="apple-spike", brand="Apple", window=timedelta(hours=1))
    urgent = UrgentRule(name="recall", terms=("recall",), within=timedelta(days=1))
    recall_ids = fill(
        db, [("Apple recall", "An apple recall in the shops.", "Apple", ("apple",), 3)]
    )
    # ...unless three of them are irrelevant (3 left); the recall post is irrelevant too.
    labels.label_mentions(db, [*spike_ids[:3], *recall_ids], "irrelevant", who="t", at=NOW)
    assert evaluate(AlertsConfig(rules=(rule, urgent)), db, now=NOW) == []
    labels.label_mentions(db, [*spike_ids[:3], *recall_ids], "relevant", who="t", at=NOW)
    fired = evaluate(AlertsConfig(rules=(rule, urgent)), db, now=NOW)
    assert sorted(a.kind for a in fired) == ["spike", "urgent"]
    spike = next(a for a in fired if a.kind == "spike")
    assert spike.details["numbers"]["count"] == 7
    db.close()
