"""Sentiment from the command line: `sentiment` scores text exactly as a scan would store
it, as JSON lines; `rescore` re-scores stored mentions with the current engine."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from .. import rescore as rescoring
from ..analysis.sentiment import DEFAULT_ENGINE, ENGINES, analyze_mention
from ..config.loader import Config
from ..config.model import Brand
from ..errors import ConfigError
from ..timeutil import parse_when
from .base import (
    ConfigOpt,
    DbOpt,
    QuietOpt,
    WaitOpt,
    app,
    for_people,
    handle_errors,
    load,
    open_store,
    optional_config,
    quiet_mode,
)
from .output import console, progress_bar

EngineOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        help="Engine (default: the config's `settings.sentiment`, else model): "
        + "; ".join(f"{k} = {v}" for k, v in ENGINES.items()),
        show_default=False,
    ),
]


def _engine(engine: str | None, cfg: Config | None) -> str:
    chosen = engine or (cfg.settings.sentiment if cfg is not None else DEFAULT_ENGINE)
    if chosen not in ENGINES:
        raise ConfigError(f"--engine: unknown engine {chosen!r}; known: {', '.join(ENGINES)}")
    return chosen


@app.command("sentiment")
@handle_errors
def sentiment_cmd(
    text: Annotated[
        str | None,
        typer.Argument(metavar="[TEXT]", help="Text to score; without it, each line of stdin."),
    ] = None,
    engine: EngineOpt = None,
    target: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Score the tone toward this name, as a scan scores a brand's mention.",
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(metavar="CODE", help="The text's language (en, no); default: detected."),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Score TEXT (or stdin lines): JSON lines {text, score, label, engine, lang}."""
    from ..analysis.matcher import compile_brands

    chosen = _engine(engine, optional_config(config))
    matcher = compile_brands([Brand(name=target, keywords=(target,))]) if target else None
    lines = [text] if text is not None else (line.rstrip("\n") for line in sys.stdin)
    write = sys.stdout.write
    for line in lines:
        # The same call as a scan's, on a post whose title is empty: spans index "\n" + line.
        found = matcher.match("", line) if matcher is not None else []
        spans = tuple(s for m in found for s in m.spans)
        result = analyze_mention("", line, spans, engine=chosen, lang=lang)
        row: dict[str, Any] = {
            "text": line,
            "score": result.score,
            "label": result.label,
            "engine": result.engine,
            "lang": result.lang,
        }
        if target is not None:
            row["target"] = target
            row["target_found"] = bool(spans)
        write(json.dumps(row, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@app.command()
@handle_errors
def rescore(
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="Only mentions published since then: 24h, 7d, 2026-11-01. Default: all.",
            show_default=False,
        ),
    ] = None,
    engine: EngineOpt = None,
    wait: WaitOpt = 0.0,
    config: ConfigOpt = None,
    db: DbOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Re-score stored mentions with the current engine (after a model upgrade, say)."""
    cfg = load(config)
    chosen = _engine(engine, cfg)
    start = parse_when(since, option="--since") if since else None
    with open_store(cfg, db, lock="rescore", wait=wait) as database:
        if for_people(quiet):
            total = rescoring.count(database, since=start)
            with progress_bar("re-scoring") as bar:
                task = bar.add_task("", total=total)
                report = rescoring.rescore(
                    database,
                    chosen,
                    since=start,
                    progress=lambda n: bar.update(task, advance=n),
                )
        else:
            report = rescoring.rescore(database, chosen, since=start)
    if not quiet_mode(quiet):
        console(stderr=True).print(
            f"re-scored {report.mentions} mention(s) with {chosen}: "
            f"{report.changed} changed label, {report.languages} language(s) detected",
            markup=False,
        )
