"""Every command's --help, as a reader sees it at 100 columns: placeholders are words
(NAME, SECONDS, ID..., PATH), never Python types or Click's brace notation, and the
shared options are where the README says they are."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from mentionwatch.cli import app

runner = CliRunner()
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]

# What Typer and Click write when a placeholder is left to them: <str>, <int>, <float
# range>, <path>, <list[str]>, <table|json> (a type or a choice list in angle brackets),
# [[BRAND]] (an optional argument bracketed twice), {ID} and {ID... NAME}... (braces),
# [ID... LABEL]... (a repetition repeated).
TYPE_PLACEHOLDER = re.compile(r"<[^>\s]*>|<float|list\[|\[\[|\{[^}]*\}|\.\.\.[^\]]*\]\.\.\.")


def _help(args: list[str]) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.stdout


def _placeholders(text: str) -> list[str]:
    """The usage line, and the left column of the Arguments and Options lists (a term
    starts two spaces in; wrapped help text is indented further)."""
    shown, section = [], ""
    for line in text.splitlines():
        if line.startswith("Usage:"):
            shown.append(line)
        elif line and not line.startswith(" "):
            section = line  # "Arguments:", "Options:", "Commands:"
        elif section in ("Arguments:", "Options:") and re.match(r"  \S", line):
            shown.append(re.split(r"\s{2,}", line.strip())[0])
    assert len(shown) > 1, text  # the usage line and at least --help
    return shown


def test_the_probe_finds_what_typer_writes() -> None:
    # The pattern must catch the forms it exists for, or the test below proves nothing.
    for bad in ("ID <str>", "--limit <int>", "--x <float range>", "path <path>",
                "ID... NAME <list[str]>", "[[BRAND]]", "{ID... NAME}...", "-f <table|json>",
                "[ID... LABEL]..."):  # fmt: skip
        assert TYPE_PLACEHOLDER.search(bad), bad
    for good in (
        "ID...",
        "[BRAND]",
        "-f, --format FORMAT",
        "--wait SECONDS",
        "PATH",
        "COMMAND [ARGS]...",
    ):
        assert not TYPE_PLACEHOLDER.search(good), good


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_placeholders_are_words(command: str) -> None:
    text = _help([command] if command else [])
    shown = _placeholders(text)
    assert any(line.startswith("Usage:") for line in shown)
    bad = [line for line in shown if TYPE_PLACEHOLDER.search(line)]
    assert bad == [], f"{command or 'mentionwatch'} --help:\n" + "\n".join(bad)


def test_arguments_read_as_words() -> None:
    assert "Usage: mentionwatch assign [OPTIONS] ID... NAME\n" in _help(["assign"])
    assert "Usage: mentionwatch precision [OPTIONS] [BRAND]\n" in _help(["precision"])
    show = _help(["show"])
    assert "Usage: mentionwatch show [OPTIONS] ID\n" in show
    assert re.search(r"^  ID  +Mention id", show, re.M)
    assert "Usage: mentionwatch init [OPTIONS] [PATH]\n" in _help(["init"])


# What the README says: every command takes -c/--db/-q, except init (a path argument
# instead of -c, no database) and demo (its own config).
EXCEPTIONS = {"init": ("-q, --quiet",), "demo": ("--db FILE", "-q, --quiet")}


@pytest.mark.parametrize("command", COMMANDS)
def test_shared_options(command: str) -> None:
    text = _help([command])
    expected = EXCEPTIONS.get(command, ("-c, --config FILE", "--db FILE", "-q, --quiet"))
    for option in expected:
        assert re.search(rf"^  {re.escape(option)}\b", text, re.M), (command, option)
    if command in EXCEPTIONS:
        assert "--config" not in text


def test_readme_names_the_exceptions() -> None:
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    sentence = readme[readme.index("Every command that reads a config") :][:600]
    for name in EXCEPTIONS:
        assert f"`{name}`" in sentence
