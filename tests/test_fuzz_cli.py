"""Bad configuration and bad input, generated: no traceback, ever, and exit 0, 1 or 2.

Hypothesis writes random YAML documents (random structures, raw random text, and
mutations of a valid config: wrong types, unknown keys, empty brands, bad URLs,
bad queries) and random argument lists for every command (bad durations like
``--since 3x``, bad dates, unknown ids, invalid queries, random strings), and runs
them through the real CLI. A message of ours is one line naming the problem.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from mentionwatch.cli import app
from mentionwatch.config.brands import BRAND_KEYS
from mentionwatch.config.email import EMAIL_KEYS
from mentionwatch.config.loader import TOP_KEYS
from mentionwatch.config.settings import SETTINGS_KEYS

from .conftest import rss
from .faultserver import FaultServer, feed_handler

runner = CliRunner()
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_handled(result: Result, args: list[str], *, codes: tuple[int, ...] = (0, 1, 2)) -> None:
    """No traceback, a known exit code, and our own messages on one line."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"mentionwatch {args!r} crashed:\n{trace}")
    assert "Traceback" not in result.output, (args, result.output)
    assert result.exit_code in codes, (args, result.exit_code, result.output)
    if result.stderr.startswith("error: "):
        assert result.stderr.count("\n") == 1, (args, result.stderr)
    if result.exit_code == 2:
        assert "error" in result.stderr.lower(), (args, result.stderr)


# ------------------------------------------------------------------ configs

# Text that cannot break out of the test's folder when used as a file name (no "/"),
# and no NUL, which no shell can put into an argument anyway.
SAFE_TEXT = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="/\x00"), max_size=30
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    SAFE_TEXT,
    st.sampled_from(
        [
            "",
            " ",
            "Acme",
            "3x",
            "-5m",
            "0h",
            "99999999999999d",
            "not a url",
            "ftp://x.example/feed",
            "http://",
            "https://a.example/feed.xml",
            "https://[::1/",
            "javascript:alert(1)",
            "rss",
            "hackernews",
            "mastodon",
            "urgent",
            "spike",
            'Acme AND NOT ("a" OR',
            "NEAR/0",
            "acm*",
            "a*",
            "()",
            "NOT",
            "vader",
        ]
    ),
)
KEYS = st.one_of(st.sampled_from([*TOP_KEYS, *SETTINGS_KEYS, *BRAND_KEYS, *EMAIL_KEYS]), SAFE_TEXT)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)

VALID: dict[str, Any] = {
    "database": "m.db",
    "settings": {"concurrency": 4, "timeout": 5, "retries": 0, "sentiment": "vader"},
    "brands": [
        {
            "name": "Acme",
            "keywords": ["Acme", "Acme Corp"],
            "exclude": ["Acmeville"],
            "require": ["phone"],
            "respond_within": "4h",
        },
        {"name": "Globex", "query": 'Globex AND NOT "Globex Corp"'},
    ],
    "email": {"host": "127.0.0.1", "port": 2525, "from": "a@b.example", "to": ["c@d.example"]},
    "sources": [
        "https://example.com/feed.xml",
        {"name": "hn", "type": "hackernews"},
        {"name": "m", "type": "mastodon", "base_url": "https://m.example", "tags": ["acme"]},
        {"name": "page", "type": "web", "url": "https://example.com/page"},
    ],
    "alerts": {
        "deliver": {"email": True, "max_age": "7d"},
        "rules": [
            {"name": "u", "type": "urgent", "terms": ["recall"], "within": "24h"},
            {"name": "s", "type": "spike", "brand": "Acme", "window": "1h"},
        ],
    },
}


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*at, i))


ALL_PATHS = list(_paths(VALID))[1:]


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent: Any = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            last = path[-1]
            parent[last]  # still there after earlier mutations?
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["replace", "delete", "unknown key", "empty", "copy"]))
        if action == "replace":
            parent[last] = draw(DOCUMENTS)
        elif action == "delete":
            del parent[last]
        elif action == "unknown key" and isinstance(parent, dict):
            parent[draw(SAFE_TEXT)] = draw(SCALARS)
        elif action == "empty":
            parent[last] = draw(st.sampled_from(["", [], {}, None, [""], " "]))
        elif action == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))  # duplicate names
    return doc


def _check_config(text: str, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    args = ["check", "-c", str(path)]
    result = runner.invoke(app, args)
    assert_handled(result, args, codes=(0, 2))
    if result.exit_code == 2:
        assert result.stderr.startswith(f"error: {path}"), result.stderr


@FUZZ
@given(doc=DOCUMENTS)
def test_random_yaml_structures(doc: Any, tmp_path: Path) -> None:
    _check_config(yaml.safe_dump(doc, allow_unicode=True), tmp_path)


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text_as_yaml(text: str, tmp_path: Path) -> None:
    _check_config(text, tmp_path)


@FUZZ
@given(doc=mutated_configs())
def test_mutations_of_a_valid_config(doc: dict[str, Any], tmp_path: Path) -> None:
    _check_config(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), tmp_path)


def test_the_unmutated_config_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "valid.yaml"
    path.write_text(yaml.safe_dump(VALID, sort_keys=False))
    result = runner.invoke(app, ["check", "-c", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("brands: [{name: Acme, keywords: []}]\nsources: [https://a.example/f]\n", "no keywords"),
        ("brands: [{name: '', keywords: [x]}]\nsources: [https://a.example/f]\n", "empty name"),
        ("keywords: ['  ']\nsources: [https://a.example/f]\n", "empty string"),
        ("keywords: [Acme]\nsources: [not-a-url]\n", "invalid URL 'not-a-url'"),
        ("keywords: [Acme]\nsources: [https://a.example/f]\nsettings: {timeout: fast}\n",
         "expected a number"),
        ("keywords: [Acme]\nsources: [https://a.example/f]\nsetings: {}\n",
         "unknown key (did you mean 'settings'?)"),
        ("keywords: [Acme]\nsources: [{url: https://a.example/f, tpye: rss}]\n",
         "unknown key (did you mean 'type'?)"),
        ("keywords: [Acme\nsources: []\n", "invalid YAML"),
        ("brands: [{name: A, query: 'a AND (b'}]\nsources: [https://a.example/f]\n", "query"),
    ],
)  # fmt: skip
def test_known_mistakes_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["check", "-c", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}:")
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def _alias_bomb() -> str:
    # Nine aliases of nine aliases...: 43 million values from nine lines.
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    return "\n".join(levels) + "\nkeywords: *a7\nsources: [https://a.example/f]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_alias_bomb(), ":6: a5: too large or nested too deeply"),
        ("keywords: &a [x, *a]\nsources: [https://a.example/f]\n", ":1: keywords: too large"),
        ("keywords: " + "[" * 5000 + "]" * 5000 + "\n", ": invalid YAML: nested too deeply"),
    ],
    ids=["alias bomb", "alias to itself", "deep nesting"],
)
def test_hostile_yaml_is_refused_quickly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    started = time.monotonic()
    result = runner.invoke(app, ["check", "-c", str(path)])
    assert time.monotonic() - started < 5
    assert_handled(result, ["check"], codes=(2,))
    assert result.stderr.startswith(f"error: {path}{message}"), result.stderr


# ------------------------------------------------------------------ command lines


@dataclass(frozen=True)
class World:
    config: Path
    ids: tuple[str, ...]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("fuzz-world")
    feed = rss(
        ("1", "https://f.example/1", "Acme is great|Acme support rocks"),
        ("2", "https://f.example/2", "Acme is awful|Acme lost my recall data"),
        ("3", "https://f.example/3", "Globex news|Globex and Acme"),
    )
    with FaultServer() as server:
        server.route("feed", feed_handler(feed, etag='"v1"'))
        config = folder / "mentionwatch.yaml"
        config.write_text(
            f"database: {folder / 'm.db'}\n"
            "settings: {retries: 0, timeout: 3}\n"
            "brands:\n  - {name: Acme, keywords: [Acme]}\n  - {name: Globex, keywords: [Globex]}\n"
            "sources:\n"
            f'  - {{name: feed, url: "{server.url("/feed/f.xml")}"}}\n'
            f'  - {{name: missing, url: "{server.url("/nothing/f.xml")}"}}\n'
            "alerts:\n  rules:\n    - {name: u, type: urgent, terms: [recall]}\n"
        )
        result = runner.invoke(app, ["scan", "-q", "-c", str(config)])
        assert result.exit_code == 1, result.output  # the missing source fails
        listed = runner.invoke(app, ["mentions", "-f", "jsonl", "-c", str(config)])
        ids = tuple(line.split('"id": "')[1][:16] for line in listed.stdout.splitlines())
        assert len(ids) == 4
        yield World(config=config, ids=ids)


COMMAND = typer.main.get_command(app)
COMMANDS = sorted(name for name in COMMAND.commands if name != "demo")  # type: ignore[attr-defined]

WHENS = [
    "24h", "7d", "30m", "2w", "3x", "-1d", "0d", "1.5h", "2026-11-20", "2026-13-45",
    "2026-11-20T08:00:00Z", "2026-11-20T25:00", "yesterday", "", " ", "9999999999w",
    "99999999999999999999d", "0001-01-01", "9999-12-31T23:59:59+14:00", "1e400h",
    "0001-01-01T00:00:00+01:00", "5000w", "1900-01-01",
]  # fmt: skip
# Boundary values twice as likely as random text.
WHEN = st.one_of(st.sampled_from(WHENS), st.sampled_from(WHENS), SAFE_TEXT)


def _option_values(world: World) -> dict[str, st.SearchStrategy[str]]:
    ids = st.one_of(
        st.sampled_from(world.ids),
        st.sampled_from(world.ids).map(lambda i: i[:3]),
        st.sampled_from(["", "0", "zzzz", "ffffffffffffffff", "%", "_", "a%", "'", "deadbeef"]),
        SAFE_TEXT,
    )
    numbers = st.one_of(
        st.integers(-5, 10**6).map(str), st.sampled_from(["0", "-1", "1e9", "x", "", "nan", "inf"])
    )
    return {
        "--since": WHEN,
        "--until": WHEN,
        "--limit": numbers,
        "--wait": st.sampled_from(["0", "0.1", "-1", "x", "nan", "inf"]),
        "--format": st.sampled_from(
            ["table", "json", "jsonl", "csv", "text", "markdown", "html", "xml", ""]
        ),
        "-f": st.sampled_from(["table", "json", "jsonl", "csv", "text", "html", "yaml"]),
        "--brand": st.one_of(st.sampled_from(["Acme", "acme", "Globex", "Nope", ""]), SAFE_TEXT),
        "--source": st.one_of(st.sampled_from(["feed", "missing", "nope", ""]), SAFE_TEXT),
        "-s": st.sampled_from(["feed", "missing", "nope"]),
        "--sentiment": st.sampled_from(["positive", "neutral", "negative", "angry", ""]),
        "--status": st.sampled_from(["new", "open", "responded", "ignored", "irrelevant", "x"]),
        "--search": st.one_of(
            st.sampled_from(['"unbalanced', "a AND", "NOT", "*", "acme*", "a:b", "(", "NEAR("]),
            SAFE_TEXT,
        ),
        "--query": st.one_of(
            st.sampled_from(['Acme AND NOT (x OR "y', "NEAR/3", "a*", "ab*", "()", "AND", "Acme"]),
            SAFE_TEXT,
        ),
        "--flag": SAFE_TEXT,
        "--engine": st.sampled_from(["vader", "nope", ""]),
        "--target": SAFE_TEXT,
        "--assignee": SAFE_TEXT,
        "--as": SAFE_TEXT,
        "--note": SAFE_TEXT,
        "--to": st.sampled_from(["a@b.example", "not-an-address", "", "a@b@c"]),
        "--db": st.sampled_from(["other.db", "", "m.db", "mentionwatch.yaml"]),
        "--config": st.sampled_from(["missing.yaml", ""]),
        "--output": st.sampled_from(["out.txt", "", "sub-does-not-exist-x/out.txt"]),
        "ID": ids,
        "TEXT": SAFE_TEXT,
    }


@st.composite
def command_lines(draw: st.DrawFn, command: str, world: World) -> list[str]:
    values = _option_values(world)
    params = COMMAND.commands[command].params  # type: ignore[attr-defined]
    args: list[str] = [command]
    for _ in range(draw(st.integers(0, 5))):
        param = draw(st.sampled_from(params))
        if param.param_type_name == "argument":
            count = draw(st.integers(0, 3)) if param.nargs == -1 else 1
            for _ in range(count):
                args.append(
                    draw(
                        st.one_of(
                            values["ID"],
                            st.sampled_from(["relevant", "irrelevant", "jane", "Acme", "positive"]),
                            values["TEXT"],
                        )
                    )
                )
            continue
        opt = draw(st.sampled_from(param.opts))
        if getattr(param, "is_flag", False):
            args.append(opt)
        elif opt in values:
            args += [opt, draw(values[opt])]
        else:
            args += [opt, draw(SAFE_TEXT)]
    if draw(st.integers(0, 4)) == 0:  # now and then, plain junk on top
        args.append(draw(st.sampled_from(["--bogus", "-x", "--", "extra", "--help"])))
    # Mostly the test's own config, so commands get past loading it.
    if "--config" not in args and "-c" not in args and draw(st.integers(0, 9)) > 0:
        args += ["-c", str(world.config)]
    return args


@pytest.mark.parametrize("command", COMMANDS)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_command_lines(command: str, world: World, data: st.DataObject) -> None:
    args = data.draw(command_lines(command, world))
    result = runner.invoke(app, args, input="")
    assert_handled(result, args)


TIME_OPTIONS = [
    (name, opt)
    for name in COMMANDS
    for param in COMMAND.commands[name].params  # type: ignore[attr-defined]
    for opt in param.opts
    if opt in ("--since", "--until")
]


@pytest.mark.parametrize("value", WHENS)
def test_every_time_option_takes_every_odd_time(world: World, value: str) -> None:
    # Durations and dates at the edges of what datetime can hold, for every command
    # that takes them: each is a time or a one-line usage error, never an overflow.
    for name, opt in TIME_OPTIONS:
        extra = (
            ["--backtest"]
            if name == "alerts"
            else ["--query", "Acme"]
            if name == "test-query"
            else []
        )
        args = [name, opt, value, *extra, "-c", str(world.config)]
        result = runner.invoke(app, args, input="")
        assert_handled(result, args)
        if result.exit_code == 2:
            # Names the option (digest reads --since back from --until: either one).
            assert result.stderr.startswith(("error: --since: ", "error: --until: ")), (
                args,
                result.stderr,
            )


@FUZZ
@given(words=st.lists(st.one_of(SAFE_TEXT, st.sampled_from(COMMANDS)), max_size=6))
def test_random_words(words: list[str], world: World) -> None:
    args = [*words, "-c", str(world.config)] if words and words[0] in COMMANDS else words
    result = runner.invoke(app, args, input="")
    assert_handled(result, args)
