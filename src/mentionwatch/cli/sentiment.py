"""`sentiment`: score text the way a scan scores it, as JSON lines."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from ..analysis.sentiment import ENGINES
from ..config.model import Brand
from ..errors import ConfigError
from ..models import Span
from .base import (
    app,
    handle_errors,
)


@app.command("sentiment")
@handle_errors
def sentiment_cmd(
    text: Annotated[
        str | None, typer.Argument(help="Text to score; without it, each line of stdin.")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(help="Engine: " + "; ".join(f"{k} = {v}" for k, v in ENGINES.items())),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="Score only the sentences about this keyword (as a brand would)."),
    ] = None,
) -> None:
    """Score TEXT (or stdin lines): JSON lines {text, score, label, engine}."""
    from ..analysis.matcher import compile_brands
    from ..analysis.sentiment import analyze, get_scorer

    chosen = engine or "vader"
    if chosen not in ENGINES:
        raise ConfigError(f"--engine: unknown engine {chosen!r}; known: {', '.join(ENGINES)}")
    get_scorer(chosen)
    matcher = compile_brands([Brand(name=target, keywords=(target,))]) if target else None
    lines = [text] if text is not None else (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        spans: tuple[Span, ...] = ()
        if matcher is not None:
            found = matcher.match("", line)
            # Spans index "title\ntext"; with an empty title, shift back by one.
            spans = tuple(Span(s.start - 1, s.end - 1, s.term) for m in found for s in m.spans)
        result = analyze(line, engine=chosen, spans=spans)
        row: dict[str, Any] = {
            "text": line,
            "score": result.score,
            "label": result.label,
            "engine": result.engine,
        }
        if target is not None:
            row["target"] = target
            row["target_found"] = bool(spans)
        print(json.dumps(row, ensure_ascii=False), flush=text is None)
