from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mentionwatch.config.loader import find_config, resolve_db_path
from mentionwatch.configure import load_config, parse_config
from mentionwatch.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
database: ./m.db
settings:
  concurrency: 4
  timeout: 5
  sentiment: textblob
brands:
  - name: Acme
    keywords: ["Acme", "Acme Corp"]
    exclude: [Acmeville]
    require: [widget]
  - name: Globex
    keywords: Globex
sources:
  - https://example.com/feed.xml
  - {name: blog, type: rss, url: "https://blog.example.com/feed"}
"""


def test_good_config(write_config: Callable[[str], Path]) -> None:
    path = write_config(GOOD)
    cfg = load_config(path)
    assert [b.name for b in cfg.brands] == ["Acme", "Globex"]
    acme = cfg.brands[0]
    assert acme.keywords == ("Acme", "Acme Corp")
    assert acme.exclude == ("Acmeville",)
    assert acme.require == ("widget",)
    assert cfg.brands[1].keywords == ("Globex",)
    assert [(s.name, s.type, s.url) for s in cfg.sources] == [
        ("example.com/feed.xml", "rss", "https://example.com/feed.xml"),
        ("blog", "rss", "https://blog.example.com/feed"),
    ]
    assert cfg.settings.concurrency == 4
    assert cfg.settings.timeout == 5.0
    assert cfg.settings.sentiment == "textblob"
    # relative database paths are relative to the config file, not the cwd
    assert cfg.database == path.parent / "m.db"


def test_keywords_shorthand() -> None:
    cfg = parse_config("keywords: [Acme, '#acme']\nsources: [https://example.com/f]\n")
    assert len(cfg.brands) == 1
    assert cfg.brands[0].name == "Acme"
    assert cfg.brands[0].keywords == ("Acme", "#acme")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "c.yaml: the config is empty"),
        ("brands: [\n", "c.yaml:2: invalid YAML"),
        (
            "brands:\n  - name: A\n    keywords: [a]\n    exlude: [b]\nsources: [https://x.org/]\n",
            "c.yaml:4: brands[0].exlude: unknown key (did you mean 'exclude'?)",
        ),
        (
            "brands:\n  - name: A\nsources: [https://x.org/]\n",
            "c.yaml:2: brands[0]: brand 'A' has no keywords",
        ),
        (
            "brands:\n  - name: A\n    keywords: []\nsources: [https://x.org/]\n",
            "brands[0]: brand 'A' has no keywords",
        ),
        (
            "brands:\n  - name: A\n    keywords: ['  ']\nsources: [https://x.org/]\n",
            "c.yaml:3: brands[0].keywords[0]: empty string",
        ),
        (
            "keywords: [a]\nsources:\n  - https://x.org/\n  - ftp://x.org/feed\n",
            "c.yaml:4: sources[1]: invalid URL 'ftp://x.org/feed'",
        ),
        (
            "keywords: [a]\nsources:\n  - {name: s, type: rsss, url: 'https://x.org/'}\n",
            "c.yaml:3: sources[0].type: unknown source type 'rsss' (did you mean 'rss'?)",
        ),
        (
            "keywords: [a]\nsources:\n  - {name: s, type: rss}\n",
            "c.yaml:3: sources[0].url: missing",
        ),
        (
            "keywords: [a]\nsources:\n  - {name: s, url: 'https://x.org/', tags: [x]}\n",
            "c.yaml:3: sources[0].tags: unknown key",
        ),
        (
            "keywords: [a]\nsources: [https://x.org/, https://x.org/]\n",
            "duplicate source name 'x.org'",
        ),
        ("keywords: [a]\n", "missing `sources:`"),
        ("sources: [https://x.org/]\n", "missing `brands:`"),
        (
            "keywords: [a]\nsources: [https://x.org/]\nsettings:\n  concurrency: lots\n",
            "c.yaml:4: settings.concurrency: expected a number, got str 'lots'",
        ),
        (
            "keywords: [a]\nsources: [https://x.org/]\nsettings:\n  timeout: 0\n",
            "settings.timeout: must be between",
        ),
        (
            "keywords: [a]\nsources: [https://x.org/]\nsettings:\n  sentiment: vadr\n",
            "settings.sentiment: unknown engine 'vadr' (did you mean 'vader'?)",
        ),
        (
            "keywords: [a]\nsources: [https://x.org/]\nsetings: {}\n",
            "c.yaml:3: setings: unknown key (did you mean 'settings'?)",
        ),
        (
            "brands:\n  - {name: A, keywords: [a]}\n  - {name: a, keywords: [b]}\n"
            "sources: [https://x.org/]\n",
            "duplicate brand name 'a'",
        ),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        (
            "brands:\n  - name: A\n    keywords: [a]\n    keywords: [b]\nsources: [https://x.org/]\n",
            "c.yaml:4: brands[0].keywords: duplicate key",
        ),
    ],
)
def test_config_errors_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, filename="c.yaml")
    assert message in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_lookup_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_config: Callable[[str], Path]
) -> None:
    with pytest.raises(ConfigError, match="no config found"):
        find_config(None)
    local = write_config(GOOD)  # ./mentionwatch.yaml (cwd is tmp_path)
    assert find_config(None).resolve() == local.resolve()
    other = write_config(GOOD, name="other.yaml")
    monkeypatch.setenv("MENTIONWATCH_CONFIG", str(other))
    assert find_config(None) == other
    assert find_config("explicit.yaml") == Path("explicit.yaml")


def test_db_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_config("keywords: [a]\nsources: [https://x.org/]\n")
    monkeypatch.setenv("MENTIONWATCH_DB", "/tmp/env.db")
    assert resolve_db_path(cfg, None) == Path("/tmp/env.db")
    assert resolve_db_path(cfg, "/tmp/flag.db") == Path("/tmp/flag.db")
    with_db = parse_config("database: /tmp/cfg.db\nkeywords: [a]\nsources: [https://x.org/]\n")
    assert resolve_db_path(with_db, None) == Path("/tmp/cfg.db")


def test_shipped_configs_are_valid() -> None:
    from mentionwatch.cli.setup import starter_config

    cfg = load_config(ROOT / "src/mentionwatch/data/sources.example.yaml")
    assert cfg.brands
    assert cfg.sources
    # The starter is a template for the brand `init` is given.
    starter = parse_config(starter_config("Café Olé"))
    assert [b.name for b in starter.brands] == ["Café Olé"]
    assert starter.brands[0].keywords == ("Café Olé", "#caféolé")
    assert len(starter.sources) == 5
