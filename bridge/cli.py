"""The `runnable-bridge` command line (`python -m bridge`); needs the `cli` extra."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bridge.demo.run import DEFAULT_DATASET, DemoResult, run_demo
from runnable.runner import RunCompleted, RunEvent, RunStarted

app = typer.Typer(help="Reactive state and execution for LLM runnables.", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """runnable-bridge: serve the playground, run chains of runnables and keep their runs."""


def _progress_listener(progress: Progress, task: Any) -> Any:
    rows: set[str] = set()

    def on_event(event: RunEvent) -> None:
        if isinstance(event, RunStarted) and event.row is not None:
            rows.add(event.run_id)
        elif isinstance(event, RunCompleted) and event.run_id in rows:
            progress.advance(task)

    return on_event


def _score(value: float | None) -> str:
    if value is None:
        return "-"
    colour = "green" if value >= 0.8 else "yellow" if value >= 0.5 else "red"
    return f"[{colour}]{value:.2f}[/{colour}]"


def _table(result: DemoResult) -> Table:
    table = Table(title="Capitals: app, exact match, similarity")
    for column in ("#", "country", "expected", "answer", "exact", "similarity", "status"):
        table.add_column(
            column, justify="right" if column in ("#", "exact", "similarity") else "left"
        )
    for row in result.rows:
        table.add_row(
            str(row.index),
            str(row.inputs.get("country", "")),
            str(row.inputs.get("correct_answer", "")),
            str(row.answer),
            _score(row.exact),
            _score(row.similarity),
            row.status,
        )
    return table


@app.command()
def demo(
    dataset: Annotated[Path, typer.Option(help="JSON Lines rows: country, correct_answer")] = (
        DEFAULT_DATASET
    ),
    runs: Annotated[Path, typer.Option(help="SQLite file that keeps every run")] = Path(
        "runs.sqlite"
    ),
    concurrency: Annotated[int, typer.Option(min=1, help="rows run at once")] = 4,
) -> None:
    """Serve an app and an evaluator, run app -> 2 evaluators over a dataset, keep the runs."""
    console = Console()
    if not dataset.is_file():
        console.print(f"[red]dataset not found: {dataset}[/red] (pass --dataset PATH)")
        raise typer.Exit(2)
    total = sum(1 for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip())
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("rows", total=total)
        result = asyncio.run(
            run_demo(
                dataset,
                runs,
                row_concurrency=concurrency,
                on_event=_progress_listener(progress, task),
            )
        )
    console.print(_table(result))
    exact = [r.exact for r in result.rows if r.exact is not None]
    passed = sum(1 for score in exact if score >= 1.0)
    console.print(
        f"{passed}/{len(result.rows)} exact matches; dataset run "
        f"{result.dataset.run_id} {result.dataset.status.value}; "
        f"runs kept in {result.runs_path.resolve()}"
    )
    if result.dataset.status.value != "success":
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on")] = 8000,
    db: Annotated[
        str | None,
        typer.Option(help="database URL for entities and runs (default: a SQLite file here)"),
    ] = None,
    provider_url: Annotated[
        str | None,
        typer.Option(
            envvar="OPENAI_BASE_URL",
            help="an OpenAI-compatible endpoint (default: the built-in offline echo model)",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(envvar="OPENAI_MODEL", help="the model prompts run on")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="worker processes behind one port, each request sent to its session's worker"
            " (saved entities coherent across workers on PostgreSQL's change feed)",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API and the playground page (open http://HOST:PORT/)."""
    from bridge.serve import ServeOptions
    from bridge.serve import serve as serve_playground
    from bridge.serve.model import DEFAULT_MODEL, ECHO_MODEL
    from runnable.sources.database import database_url

    options = ServeOptions(
        host=host,
        port=port,
        db=db,
        provider_url=provider_url,
        api_key=os.environ.get("OPENAI_API_KEY") or None,
        model=model,
    )
    console = Console()
    where = "runnable-bridge.sqlite"
    if db:
        # The URL may carry a password: never print it.
        where = database_url(db).render_as_string(hide_password=True)
    model_text = f"{model or DEFAULT_MODEL} at {provider_url}" if provider_url else ECHO_MODEL
    console.print(
        f"playground: [bold]http://{host}:{port}/[/bold]  (model: {model_text}; database: {where})"
    )
    if workers > 1:
        from bridge.serve.workers import serve_workers

        try:
            with contextlib.suppress(KeyboardInterrupt):  # a Ctrl+C before the workers run
                serve_workers(options, workers)
        except RuntimeError as exc:  # a worker that could not start
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
        return
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_playground(options))


def main() -> None:
    """Entry point of the `runnable-bridge` console script."""
    app()
