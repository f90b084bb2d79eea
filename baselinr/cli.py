"""The ``baselinr`` command.

Exit codes: 0 success (an all-skipped run included), 1 a failed run (or drift at the
configured severity), 2 bad usage or bad config. Failures print one line, no traceback
(``--debug`` shows it).
"""

import datetime as dt
import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from baselinr.config import load_config
from baselinr.errors import BaselinrError, UsageError

console = Console(stderr=True)
out = Console()
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> None:
    # soft_wrap: one line however narrow the terminal; escape: names are not markup
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BaselinrError as exc:
            if _debug():
                raise
            _fail(_one_line(str(exc)) if exc.exit_code != 2 else str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as exc:
            if _debug():
                raise
            _fail(
                f"unexpected {type(exc).__name__}: {_one_line(str(exc))} "
                "(run with --debug for the traceback)",
                1,
            )

    return wrapper  # type: ignore[return-value]


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="BASELINR_CONFIG",
    help="Path to baselinr.yml (or set BASELINR_CONFIG).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="baselinr")
def main(verbose: bool, debug: bool) -> None:
    """Baselinr: profile warehouse tables, keep history, detect drift."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


# --- profile ------------------------------------------------------------------------------


@main.command()
@config_option
@click.option("-t", "--table", "tables", multiple=True, help="Only this table (repeatable).")
@json_option
@handle_errors
def profile(config_path: Path, tables: tuple[str, ...], as_json: bool) -> None:
    """Profile every table the config names and store the results."""
    from baselinr.runner import ProfileRunner

    config = load_config(config_path)
    runner = ProfileRunner(config)
    try:
        plan = runner.plan(tables=tables or None)
        _warn(plan.warnings)
        if tables and not plan.decisions:
            raise UsageError(f"no configured table matches {', '.join(tables)}")
        result = _execute_with_progress(runner, plan, quiet=as_json)
    finally:
        runner.context.close()
    if as_json:
        _print_json(
            {
                "batch_id": result.batch_id,
                "summary": result.summary(),
                "tables": [_outcome_dict(o) for o in result.outcomes],
            }
        )
    else:
        _print_outcomes(result)
    if not result.ok:
        names = ", ".join(o.decision.qualified for o in result.failed)
        _fail(f"{len(result.failed)} table(s) failed: {names}", 1)


def _execute_with_progress(runner: Any, plan: Any, quiet: bool) -> Any:
    if quiet or not plan.decisions:
        return runner.execute(plan)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks = {
        d.qualified: progress.add_task(d.qualified, total=1, status=d.action, start=False)
        for d in plan.decisions
    }
    with progress:
        return runner.execute(
            plan,
            on_start=lambda d: progress.start_task(tasks[d.qualified]),
            on_done=lambda o: progress.update(
                tasks[o.decision.qualified], completed=1, status=_status_text(o)
            ),
        )


def _status_text(outcome: Any) -> str:
    if outcome.status == "completed":
        return "[green]completed[/]"
    if outcome.status == "failed":
        return "[red]failed[/]"
    return f"[yellow]{outcome.status}[/]"


def _outcome_dict(o: Any) -> dict[str, Any]:
    return {
        "database": o.decision.database,
        "schema": o.decision.schema,
        "table": o.decision.table,
        "action": o.action,
        "reason": o.decision.reason,
        "status": o.status,
        "run_id": o.run_id,
        "row_count": o.row_count,
        "rows_scanned": o.profile.rows if o.profile else None,
        "columns": len(o.profile.columns) if o.profile else None,
        "statements": o.profile.statements if o.profile else None,
        "duration_seconds": round(o.duration_seconds, 3),
        "error": o.error,
    }


def _print_outcomes(result: Any) -> None:
    table = Table(title=f"Batch {result.batch_id}", title_justify="left")
    for name in ("Table", "Action", "Status", "Rows", "Columns", "Time", "Run / error"):
        table.add_column(name, justify="right" if name in ("Rows", "Columns", "Time") else "left")
    for o in result.outcomes:
        table.add_row(
            escape(o.decision.qualified),
            o.action,
            _status_text(o),
            f"{o.row_count:,}" if o.row_count is not None else "",
            str(len(o.profile.columns)) if o.profile else "",
            f"{o.duration_seconds:.2f}s" if o.status in ("completed", "failed") else "",
            (o.run_id or "")[:12]
            if o.status == "completed"
            else escape(o.error or o.decision.reason),
        )
    out.print(table)
    summary = ", ".join(f"{v} {k}" for k, v in result.summary().items() if v)
    out.print(f"Summary: {summary or 'nothing to do'}")


def _warn(warnings: Any) -> None:
    for w in warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)


# --- status --------------------------------------------------------------------------------


@main.command()
@config_option
@click.option("-n", "--limit", default=20, show_default=True, help="How many runs to show.")
@click.option("-t", "--table", "table_name", help="Only runs of this table.")
@json_option
@handle_errors
def status(config_path: Path, limit: int, table_name: str | None, as_json: bool) -> None:
    """Show the latest profiling runs."""
    from baselinr.storage import Storage

    config = load_config(config_path)
    storage = Storage.open(config.storage)
    try:
        schema, _, name = table_name.rpartition(".") if table_name else ("", "", None)
        runs = storage.reader.recent_runs(limit, schema=schema or None, table=name)
    finally:
        storage.engine.dispose()
    now = dt.datetime.now(dt.timezone.utc)
    for run in runs:
        run["stale"] = run["status"] == "running" and now - run["started_at"] > dt.timedelta(
            hours=1
        )
    if as_json:
        _print_json({"runs": runs})
        return
    if not runs:
        out.print("No runs yet. Run `baselinr profile -c " + str(config_path) + "` first.")
        return
    table = Table(title="Latest runs", title_justify="left")
    for name in ("Started (UTC)", "Table", "Action", "Status", "Rows", "Scanned", "Time", "Run"):
        table.add_column(name, justify="right" if name in ("Rows", "Scanned", "Time") else "left")
    for run in runs:
        took = (
            f"{(run['finished_at'] - run['started_at']).total_seconds():.2f}s"
            if run["finished_at"]
            else ""
        )
        state = run["status"]
        style = {"completed": "green", "failed": "red"}.get(state, "yellow")
        label = f"[{style}]{state}[/]" + (" (stale: killed?)" if run["stale"] else "")
        table.add_row(
            run["started_at"].strftime("%m-%d %H:%M:%S"),
            escape(".".join(p for p in (run["schema_name"], run["table_name"]) if p)),
            run["action"],
            label,
            f"{run['row_count']:,}" if run["row_count"] is not None else "",
            f"{run['rows_scanned']:,}" if run["rows_scanned"] is not None else "",
            took,
            run["run_id"][:12] if state != "failed" else escape(_one_line(run["error"] or "")),
        )
    out.print(table)


# --- tables ----------------------------------------------------------------------------------


@main.command()
@config_option
@json_option
@handle_errors
def tables(config_path: Path, as_json: bool) -> None:
    """Show what the table entries resolve to in the warehouse."""
    from baselinr.planner import PlanBuilder

    config = load_config(config_path)
    builder = PlanBuilder(config)
    try:
        catalog = builder.resolve()
    finally:
        builder.context.close()
    if as_json:
        _print_json(
            {
                "entries": [
                    {
                        "index": e.index,
                        "selector": e.entry.selector,
                        "tables": [{"schema": t.schema, "table": t.table} for t in e.tables],
                    }
                    for e in catalog.entries
                ],
                "warnings": catalog.warnings,
            }
        )
        return
    _warn(catalog.warnings)
    table = Table(title="Configured tables", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Entry")
    table.add_column("Tables")
    for e in catalog.entries:
        table.add_row(
            str(e.index),
            escape(e.entry.name or e.entry.selector),
            escape(", ".join(map(str, e.tables))) or "-",
        )
    out.print(table)


# --- demo ------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--dir",
    "directory",
    default="demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the warehouse, config and storage.",
)
@click.option(
    "--engine", type=click.Choice(["sqlite", "duckdb"]), default="sqlite", show_default=True
)
@click.option("--force", is_flag=True, help="Rebuild the warehouse if it exists.")
@handle_errors
def demo(directory: Path, engine: str, force: bool) -> None:
    """Build a deterministic sample warehouse (~100k rows) and a config for it."""
    from baselinr.demo import build_demo

    try:
        built = build_demo(directory, engine=engine, force=force)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    total = sum(built.rows.values())
    rows = ", ".join(f"{k} {v:,}" for k, v in built.rows.items())
    out.print(f"Built {built.warehouse} ({total:,} rows: {rows})")
    out.print(f"Config: {built.config}")
    out.print(f"Next:   baselinr profile -c {built.config}")


if __name__ == "__main__":  # pragma: no cover
    main()
