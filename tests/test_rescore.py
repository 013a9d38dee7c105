"""One scoring everywhere: what `scan` stores equals what `sentiment --target` prints,
`rescore` upgrades stored history, and the shipped weights are in the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.analysis.priority import priority_key
from mentionwatch.cli import app
from mentionwatch.store import db as store
from mentionwatch.timeutil import from_iso

from .conftest import rss

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]

POSTS = [
    "Kettlo makes a wonderful kettle, while Ember's grinder broke after a week and "
    "support ignored me.",
    "Ember is great but Kettlo is awful",
    "@Ember still waiting for my refund. Never again.",
    "Kundeservicen til Ember er dårlig og treg.",
    "Ich habe drei Wochen auf Ember gewartet und niemand hat geantwortet",
]


@pytest.fixture
def config(tmp_path: Path, httpserver: HTTPServer) -> Path:
    items = [(f"g{i}", f"https://example.com/{i}", f"|{text}") for i, text in enumerate(POSTS)]
    httpserver.expect_request("/feed").respond_with_data(
        rss(*items), content_type="application/rss+xml"
    )
    path = tmp_path / "mentionwatch.yaml"
    path.write_text(
        "database: m.db\n"
        "brands:\n  - {name: Ember, keywords: [Ember]}\n  - {name: Kettlo, keywords: [Kettlo]}\n"
        f"sources:\n  - {{name: feed, url: '{httpserver.url_for('/feed')}'}}\n",
        encoding="utf-8",
    )
    return path


def _each_mention(db_path: Path, columns: str) -> list[tuple[Any, ...]]:
    """``columns`` of every stored mention (``m``) with its post (``p``)."""
    db = store.open_db(db_path)
    try:
        sql = f"SELECT {columns} FROM mentions m JOIN posts p ON p.id = m.post_id"
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _stored(db_path: Path) -> dict[tuple[str, str], dict[str, object]]:
    rows = _each_mention(
        db_path, "p.text, m.brand, m.sentiment, m.sentiment_label, m.sentiment_engine, p.lang"
    )
    return {
        (text, brand): {"score": score, "label": label, "engine": engine, "lang": lang}
        for text, brand, score, label, engine, lang in rows
    }


def test_scan_stores_what_sentiment_target_prints(config: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["-c", str(config), "scan", "-q"])
    assert result.exit_code == 0, result.output
    stored = _stored(tmp_path / "m.db")
    assert len(stored) == 7  # two posts name both brands
    for (text, brand), row in stored.items():
        printed = runner.invoke(app, ["sentiment", "--target", brand, text])
        assert printed.exit_code == 0, printed.output
        out = json.loads(printed.stdout)
        assert (out["score"], out["label"], out["engine"]) == (
            row["score"],
            row["label"],
            row["engine"],
        ), (text, brand)
    # Per brand, and whatever else is configured.
    assert stored[(POSTS[0], "Ember")]["label"] == "negative"
    assert stored[(POSTS[0], "Kettlo")]["label"] == "positive"
    assert stored[(POSTS[1], "Ember")]["label"] == "positive"
    assert stored[(POSTS[1], "Kettlo")]["label"] == "negative"
    # Languages: detected and stored when the feed gives none; German has no model.
    assert stored[(POSTS[3], "Ember")]["lang"] == "no"
    assert stored[(POSTS[4], "Ember")] == {
        "score": None,
        "label": "unscored",
        "engine": "model",
        "lang": "de",
    }


def test_show_mentions_and_digest_say_unscored(config: Path) -> None:
    assert runner.invoke(app, ["-c", str(config), "scan", "-q"]).exit_code == 0
    listed = runner.invoke(app, ["-c", str(config), "mentions", "--format", "jsonl"])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    german = next(r for r in rows if r["text"].startswith("Ich habe"))
    assert (german["sentiment"], german["sentiment_label"]) == (None, "unscored")
    shown = runner.invoke(app, ["-c", str(config), "show", german["id"]])
    assert shown.exit_code == 0, shown.output
    assert "unscored" in shown.output
    digest = runner.invoke(app, ["-c", str(config), "digest", "--since", "60d"])
    assert digest.exit_code == 0, digest.output
    assert "1 unscored (no sentiment model for their language)" in digest.stdout


def test_rescore_upgrades_history_to_the_current_engine(config: Path, tmp_path: Path) -> None:
    vader = config.read_text(encoding="utf-8") + "settings: {sentiment: vader}\n"
    config.write_text(vader, encoding="utf-8")
    assert runner.invoke(app, ["-c", str(config), "scan", "-q"]).exit_code == 0
    before = _stored(tmp_path / "m.db")
    assert {row["engine"] for row in before.values()} == {"vader"}
    # VADER is English only: the Norwegian post was left unscored, not scored as English.
    assert before[(POSTS[3], "Ember")]["label"] == "unscored"

    done = runner.invoke(app, ["-c", str(config), "rescore", "--engine", "model"])
    assert done.exit_code == 0, done.output
    assert "re-scored 7 mention(s) with model" in done.stderr
    after = _stored(tmp_path / "m.db")
    assert {row["engine"] for row in after.values()} == {"model"}
    assert after[(POSTS[3], "Ember")]["label"] == "negative"
    for (text, brand), row in after.items():
        # The config still says vader (it's found in the working directory): ask for model.
        printed = runner.invoke(app, ["sentiment", "--engine", "model", "--target", brand, text])
        out = json.loads(printed.stdout)
        assert (out["score"], out["label"]) == (row["score"], row["label"])
    _assert_keys_follow_scores(tmp_path / "m.db")


def _assert_keys_follow_scores(db_path: Path) -> None:
    """Every mention's priority key is the one of its current score (none unknown)."""
    rows = _each_mention(
        db_path, "m.priority_key, m.sentiment, p.reach, COALESCE(p.published, p.fetched)"
    )
    assert rows
    for key, score, reach, at in rows:
        when = from_iso(at)
        assert when is not None
        assert key == pytest.approx(priority_key(score, reach, when), abs=1e-12)


def test_rescore_since_leaves_older_mentions_alone(config: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["-c", str(config), "scan", "-q"]).exit_code == 0
    # The feed's posts are dated 2026-11-20: a later --since selects none of them.
    done = runner.invoke(
        app, ["-c", str(config), "rescore", "--engine", "vader", "--since", "2030-01-01"]
    )
    assert done.exit_code == 0, done.output
    assert "re-scored 0 mention(s)" in done.stderr
    assert {row["engine"] for row in _stored(tmp_path / "m.db").values()} == {"model"}


def test_rescore_rejects_an_unknown_engine(config: Path) -> None:
    result = runner.invoke(app, ["-c", str(config), "rescore", "--engine", "nope"])
    assert result.exit_code == 2
    assert "unknown engine 'nope'" in result.stderr


def test_the_wheel_ships_the_weights_and_they_load_from_it(tmp_path: Path) -> None:
    """Built and imported from the wheel, not the source tree."""
    built = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps"),
            *("--no-build-isolation", "-q", "-w", str(tmp_path / "dist")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("mentionwatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("en.json.gz", "no.json.gz", "MODEL.md"):
        assert f"mentionwatch/analysis/weights/{name}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import mentionwatch, sys\n"
        "from mentionwatch.analysis.classifier import load_model\n"
        f"assert mentionwatch.__file__.startswith({str(site)!r}), mentionwatch.__file__\n"
        "for lang in ('en', 'no'):\n"
        "    model = load_model(lang)\n"
        "    assert model is not None and len(model) > 1000, lang\n"
        "print(load_model('en').predict('still waiting, 3 hours on hold')[0])\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "negative"
