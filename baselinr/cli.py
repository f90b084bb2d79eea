"""The ``baselinr`` command.

Exit codes: 0 success (an all-skipped run included), 1 a failed run (or drift at the
configured severity), 2 bad usage or bad config. Failures print one line, no traceback
(``--debug`` shows it, and keeps the exit code).

Every name or message from the warehouse, storage or a config is untrusted: it is
printed through ``shown`` (secrets masked, control characters escaped, markup
escaped), and JSON output through ``redact_data``.
"""

import datetime as dt
import functools
import json
import logging
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from baselinr.display import printable
from baselinr.errors import BaselinrError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

# Start-up cost: a command imports what it uses, inside the command (rich, the config
# models, SQLAlchemy, the runner...), so `baselinr --help` loads click and little
# else. tests/test_startup.py holds the line; bench/profile_bench.py times it.


@functools.cache
def _console() -> "Console":
    """stderr (rich writes to whatever ``sys.stderr`` is at print time)."""
    from rich.console import Console

    return Console(stderr=True)


def _out() -> "Console":
    """stdout, at least 120 columns wide so tables stay readable when piped or on a
    narrow terminal (read at print time: COLUMNS may change)."""
    from rich.console import Console

    return Console(width=max(Console().width, 120))


def _table(*args: Any, **kwargs: Any) -> Any:
    from rich.table import Table

    return Table(*args, **kwargs)


def load_config(path: Path) -> Any:
    """The validated config (the pydantic models are built on first use)."""
    from baselinr.config import load_config as load

    return load(path)


def escape(text: str) -> str:
    """rich markup escaped (rich is imported on first use)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


F = TypeVar("F", bound=Callable[..., Any])


def shown(text: Any) -> str:
    """Untrusted text as it may be printed by rich: redacted, control characters
    escaped (``display.printable``), markup escaped (a table named ``[/]``)."""
    return escape(printable(str(text)))


def _fail(message: str, code: int) -> None:
    # soft_wrap: one line however narrow the terminal; shown: names are not markup
    _console().print(
        f"[bold red]error:[/] {_shown_lines(message)}", highlight=False, soft_wrap=True
    )
    sys.exit(code)


def _shown_lines(message: str) -> str:
    """A message that may span lines on purpose (a config error lists its problems)."""
    return "\n".join(shown(line) for line in message.split("\n"))


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BaselinrError as exc:
            _traceback_if_debug()
            _fail(_one_line(str(exc)) if exc.exit_code != 2 else str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as exc:
            _traceback_if_debug()
            _fail(
                f"unexpected {type(exc).__name__}: {_one_line(str(exc))}"
                + ("" if _debug() else " (run with --debug for the traceback)"),
                1,
            )

    return wrapper  # type: ignore[return-value]


def _traceback_if_debug() -> None:
    """--debug: the traceback (redacted), and the exit code stays what it would be."""
    if _debug():
        text = "".join(traceback.format_exception(*sys.exc_info()))
        sys.stderr.write(printable(text, keep_newlines=True))
        sys.stderr.flush()


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
    from baselinr.redact import redact_data

    click.echo(json.dumps(redact_data(data), indent=2, default=str))


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
                "storage_problems": result.storage_problems,
            }
        )
    else:
        _print_outcomes(result)
        _print_drift_line(result, config_path)
    storage_line = result.storage_summary()
    if storage_line:
        _warn([storage_line])
    if not result.ok:
        names = ", ".join(o.decision.qualified for o in result.failed)
        _fail(f"{len(result.failed)} table(s) failed: {names}", 1)


def _execute_with_progress(runner: Any, plan: Any, quiet: bool) -> Any:
    if quiet or not plan.decisions:
        return runner.execute(plan)
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=_console(),
        transient=False,
    )
    # Tables that are skipped or deferred get no progress bar: with incremental
    # profiling most of a large portfolio is skipped on most runs.
    tasks = {
        d.qualified: progress.add_task(shown(d.qualified), total=1, status=d.action, start=False)
        for d in plan.to_run
    }

    def started(d: Any) -> None:
        if d.qualified in tasks:
            progress.start_task(tasks[d.qualified])

    def done(o: Any) -> None:
        if o.decision.qualified in tasks:
            progress.update(tasks[o.decision.qualified], completed=1, status=_status_text(o))

    with progress:
        return runner.execute(plan, on_start=started, on_done=done)


def _status_text(outcome: Any) -> str:
    if outcome.status == "completed":
        return "[green]completed[/]"
    if outcome.status == "failed":
        return "[red]failed[/]"
    return f"[yellow]{outcome.status}[/]"


def _outcome_dict(o: Any) -> dict[str, Any]:
    """One table of ``profile --json``: the figures of its stored run."""
    run = o.run
    return {
        "database": o.decision.database,
        "schema": o.decision.schema,
        "table": o.decision.table,
        "action": o.action,
        "reason": o.decision.reason,
        "status": o.status,
        "run_id": o.run_id,
        "row_count": o.row_count,
        "rows_scanned": run.rows_scanned if run is not None else None,
        "rows_avoided": o.rows_avoided,
        "columns": run.column_count if run is not None else None,
        "statements": run.statements if run is not None else None,
        "duration_seconds": round(o.duration_seconds, 3),
        "carried_metrics": list(run.carried_metrics) if run is not None else [],
        "cached_run_id": o.cached_run_id,
        "error": o.error,
        "drift": o.drift.summary() if o.drift is not None else None,
    }


# how the batch summary words an action (the actions themselves: plan.ACTIONS)
_DONE_WORDS = {"sample": "sampled", "skip": "skipped", "defer": "deferred"}
_MAX_IDLE_ROWS = 30


def _print_outcomes(result: Any) -> None:
    table = _table(title=f"Batch {result.batch_id}", title_justify="left")
    for name in ("Table", "Action", "Status", "Rows", "Columns", "Time", "Run / error"):
        table.add_column(name, justify="right" if name in ("Rows", "Columns", "Time") else "left")
    idle = [o for o in result.outcomes if o.status in ("skipped", "deferred")]
    hide_idle = len(idle) > _MAX_IDLE_ROWS
    for o in result.outcomes:
        if hide_idle and o in idle:
            continue
        table.add_row(
            shown(o.decision.qualified),
            o.action,
            _status_text(o),
            f"{o.row_count:,}" if o.row_count is not None else "",
            str(o.run.column_count) if o.run is not None and o.run.column_count else "",
            f"{o.duration_seconds:.2f}s" if o.run is not None else "",
            (o.run_id or "")[:12]
            if o.status == "completed"
            else shown(_one_line(o.error or o.decision.reason)),
        )
    if table.rows:
        _out().print(table)
    if hide_idle:
        reasons = Counter(f"{o.action}: {o.decision.reason}" for o in idle)
        _out().print(
            f"{len(idle)} tables not profiled ("
            + ", ".join(f"{n} {shown(why)}" for why, n in sorted(reasons.items()))
            + ")"
        )
    counts = result.summary()
    _out().print("Summary: " + ", ".join(f"{n} {_DONE_WORDS.get(k, k)}" for k, n in counts.items()))


# --- plan -------------------------------------------------------------------------------------

# how `plan` shows each action (the actions themselves: plan.ACTIONS)
_ACTION_STYLE = {"full": "bold", "partial": "cyan", "sample": "magenta", "skip": "dim"}


@main.command()
@config_option
@click.option("-t", "--table", "tables", multiple=True, help="Only this table (repeatable).")
@json_option
@handle_errors
def plan(config_path: Path, tables: tuple[str, ...], as_json: bool) -> None:
    """Show what the next `baselinr profile` will do with each table, and why.

    Reads warehouse metadata and stored state only: no table is scanned, nothing is
    written.
    """
    from baselinr.context import BaselinrContext
    from baselinr.incremental.explain import explain
    from baselinr.planner import PlanBuilder

    config = load_config(config_path)
    # read-only: on a fresh config nothing is created, the state is empty
    builder = PlanBuilder(config, BaselinrContext(config, read_only=True))
    try:
        result = builder.get_tables_to_run(tables=tables or None)
    finally:
        builder.context.close()
    _warn(result.warnings)
    if tables and not result.decisions:
        raise UsageError(f"no configured table matches {', '.join(tables)}")
    if as_json:
        _print_json(
            {"decisions": [d.to_dict() for d in result.decisions], "summary": result.to_summary()}
        )
        return
    if not config.incremental.enabled:
        _console().print(
            "[yellow]note:[/] incremental.enabled is false: every table is profiled every run"
        )
    from rich import box

    table = _table(title="Plan", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Table", no_wrap=True)
    table.add_column("Action", no_wrap=True)
    table.add_column("Est. rows", justify="right", no_wrap=True)
    table.add_column("Reason")
    for d in result.decisions:
        style = _ACTION_STYLE.get(d.action, "yellow")
        parts = d.changed_partitions
        why = f"[bold]{shown(d.reason)}[/]: {shown(explain(d))}"
        if parts:
            listed = ", ".join(str(p) for p in parts[:5])
            why += f" [{shown(listed)}{f' +{len(parts) - 5}' if len(parts) > 5 else ''}]"
        table.add_row(
            shown(d.qualified),
            f"[{style}]{d.action}[/]",
            f"{d.estimated_rows:,}" if d.estimated_rows is not None else "",
            why,
        )
    _out().print(table)
    summary = result.to_summary()
    _out().print("Summary: " + ", ".join(f"{n} {a}" for a, n in summary.items()))


def _print_drift_line(result: Any, config_path: Path) -> None:
    drifted = [o.drift for o in result.outcomes if getattr(o, "drift", None)]
    drifted = [d for d in drifted if d.findings or d.schema_changes]
    if drifted:
        names = ", ".join(f"{d.qualified} ({d.max_severity})" for d in drifted)
        _out().print(
            f"Drift: {shown(names)}. Details: baselinr drift -c {shown(config_path)}",
            highlight=False,
        )


def _warn(warnings: Any) -> None:
    for w in warnings:
        _console().print(f"[yellow]warning:[/] {shown(w)}", highlight=False, soft_wrap=True)


# --- status --------------------------------------------------------------------------------


@main.command()
@config_option
@click.option("-n", "--limit", default=20, show_default=True, help="How many runs to show.")
@click.option("-t", "--table", "table_name", help="Only runs of this table.")
@json_option
@handle_errors
def status(config_path: Path, limit: int, table_name: str | None, as_json: bool) -> None:
    """Show the latest profiling runs."""
    from baselinr.storage import Storage, storage_errors
    from baselinr.storage.reader import in_flight

    config = load_config(config_path)
    storage = Storage.open_existing(config.storage)  # reads only: creates nothing
    runs = []
    if storage is not None:
        try:
            schema, _, name = table_name.rpartition(".") if table_name else ("", "", None)
            with storage_errors(storage.engine):
                runs = storage.reader.recent_runs(limit, schema=schema or None, table=name)
        finally:
            storage.engine.dispose()
    now = dt.datetime.now(dt.timezone.utc)
    stale = {r.run_id for r in runs if r.status == "running" and not in_flight(r, now)}
    if as_json:
        _print_json({"runs": [{**r.to_dict(), "stale": r.run_id in stale} for r in runs]})
        return
    if not runs:
        _out().print(f"No runs yet. Run `baselinr profile -c {shown(config_path)}` first.")
        return
    table = _table(title="Latest runs", title_justify="left")
    for name in ("Started (UTC)", "Table", "Action", "Status", "Rows", "Scanned", "Time", "Run"):
        table.add_column(name, justify="right" if name in ("Rows", "Scanned", "Time") else "left")
    for run in runs:
        took = f"{run.duration_seconds:.2f}s" if run.duration_seconds is not None else ""
        style = {"completed": "green", "failed": "red"}.get(run.status, "yellow")
        label = f"[{style}]{run.status}[/]" + (
            f" (stale: no heartbeat since {_heartbeat(run)}; killed?)"
            if run.run_id in stale
            else ""
        )
        table.add_row(
            run.started_at.strftime("%m-%d %H:%M:%S"),
            shown(run.qualified),
            run.action,
            label,
            f"{run.row_count:,}" if run.row_count is not None else "",
            f"{run.rows_scanned:,}" if run.rows_scanned is not None else "",
            took,
            run.run_id[:12] if run.status != "failed" else shown(_one_line(run.error or "")),
        )
    _out().print(table)


def _heartbeat(run: Any) -> str:
    seen = run.heartbeat_at or run.started_at
    return str(seen.strftime("%m-%d %H:%M:%S"))


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
    table = _table(title="Configured tables", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Entry")
    table.add_column("Tables")
    for e in catalog.entries:
        table.add_row(
            str(e.index),
            shown(e.entry.name or e.entry.selector),
            shown(", ".join(map(str, e.tables))) or "-",
        )
    _out().print(table)


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
@click.option(
    "--history",
    type=click.IntRange(min=1, max=366),
    default=None,
    help="Then profile N simulated days of changes (runs, skips, partials, drift).",
)
@handle_errors
def demo(directory: Path, engine: str, force: bool, history: int | None) -> None:
    """Build a deterministic sample warehouse (~100k rows) and a config for it."""
    from baselinr.demo import build_demo

    try:
        built = build_demo(directory, engine=engine, force=force)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    total = sum(built.rows.values())
    rows = ", ".join(f"{k} {v:,}" for k, v in built.rows.items())
    _out().print(f"Built {shown(built.warehouse)} ({total:,} rows: {rows})")
    _out().print(f"Config: {shown(built.config)}")
    if history:
        _demo_history(built.config, history)
        _out().print(f"Next:   baselinr serve -c {shown(built.config)}")
        return
    _out().print(f"Next:   baselinr profile -c {shown(built.config)}")


def _demo_history(config: Path, days: int) -> None:
    """``demo --history N``: profile N simulated days, one line per run."""
    from baselinr.demo_history import simulate_history

    words = {"sample": "sampled", "skip": "skipped", "defer": "deferred"}

    def show(index: int, run: Any) -> None:
        summary = ", ".join(f"{n} {words.get(k, k)}" for k, n in run.summary.items() if n)
        line = f"day {index + 1:>3} {run.at:%Y-%m-%d %H:%M} UTC  {summary}"
        if run.changes:
            line += f"  | {'; '.join(run.changes)}"
        if run.drift:
            line += f"  | drift: {', '.join(run.drift)}"
        _out().print(escape(line), highlight=False, soft_wrap=True)

    simulate_history(config, days, on_run=show)


# --- serve -----------------------------------------------------------------------------------


@main.command()
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="BASELINR_CONFIG",
    help="baselinr.yml: its storage, api.tokens and api.cors_origins (or BASELINR_CONFIG).",
)
@click.option("--host", help="Address to bind [default: API_HOST or 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), help="[default: API_PORT or 8000]")
@click.option("--insecure", is_flag=True, help="Allow a non-loopback address without tokens.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@handle_errors
def serve(
    config_path: Path | None, host: str | None, port: int | None, insecure: bool, log_level: str
) -> None:
    """Serve the dashboard REST API (FastAPI, under uvicorn).

    Storage comes from BASELINR_DB_URL, else from the config. Settings may also come
    from a .env file. Without API tokens only loopback addresses are allowed.
    """
    try:
        from baselinr.api.serve import check_bind
        from baselinr.api.serve import serve as run_server
        from baselinr.api.settings import ApiSettings, resolve_options
    except ImportError as exc:
        raise UsageError(
            f'the API needs the api extra: pip install "baselinr[api]" ({exc})'
        ) from None
    settings = ApiSettings()
    config = load_config(config_path) if config_path is not None else None
    options = resolve_options(settings, config)
    host = host or options.host
    check_bind(options, host, insecure or options.insecure)
    if config is not None and settings.db_url is None and config.storage.create_tables:
        from baselinr.storage import Storage

        Storage.open(config.storage).engine.dispose()  # create or upgrade the tables
    run_server(
        options, host=host, port=port or options.port, insecure=insecure, log_level=log_level
    )


# --- drift -----------------------------------------------------------------------------------


@main.command()
@config_option
@click.option("-t", "--table", "tables", multiple=True, help="Only this table (repeatable).")
@click.option("--run", "run_ids", multiple=True, help="Judge this run id (repeatable).")
@click.option(
    "--fail-on",
    type=click.Choice(["low", "medium", "high"]),
    help="Exit 1 on drift at or above this severity [default: drift_detection.fail_on].",
)
@json_option
@handle_errors
def drift(
    config_path: Path,
    tables: tuple[str, ...],
    run_ids: tuple[str, ...],
    fail_on: str | None,
    as_json: bool,
) -> None:
    """Judge the latest run of each table against its baseline.

    Works from stored results only. Exits 1 when drift (or a schema change) at or
    above the fail-on severity is found, 0 otherwise.
    """
    from baselinr.errors import DriftError
    from baselinr.storage import Storage, storage_errors

    config = load_config(config_path)
    level = fail_on or config.drift_detection.fail_on
    storage = Storage.open_existing(config.storage)  # reads only: creates nothing
    reports: list[Any] = []
    if storage is not None:
        try:
            with storage_errors(storage.engine):
                reports = _drift_reports(config, storage, tables, run_ids)
        finally:
            storage.engine.dispose()
    elif run_ids or tables:
        raise DriftError("nothing is stored yet: run `baselinr profile` first")
    failing = [r for r in reports if r.fails(level)]
    if as_json:
        _print_json(
            {
                "fail_on": level,
                "failed": bool(failing),
                "tables": [r.to_dict() for r in reports],
            }
        )
    else:
        _print_drift(reports, level, config_path)
    if failing:
        names = ", ".join(r.qualified for r in failing)
        _fail(f"drift at or above {level} in {len(failing)} table(s): {names}", 1)


def _drift_reports(
    config: Any, storage: Any, tables: tuple[str, ...], run_ids: tuple[str, ...]
) -> list[Any]:
    from baselinr.drift import DriftDetector
    from baselinr.errors import DriftError

    detector = DriftDetector(config, storage)
    if run_ids:
        return [detector.detect(run_id) for run_id in run_ids]
    latest = storage.reader.latest_completed_runs(environment=config.environment)
    if tables:
        wanted = set(tables)
        latest = [r for r in latest if _run_table_names(r) & wanted]
        missing = wanted - set().union(*(_run_table_names(r) for r in latest))
        if missing:
            raise DriftError(
                f"no completed runs of {', '.join(sorted(missing))} in storage "
                f"(environment {config.environment!r}); profile it first"
            )
    return [detector.detect(r.run_id) for r in latest]


def _run_table_names(run: Any) -> set[str]:
    return {run.table_name, run.qualified}


_SEVERITY_STYLE = {"high": "bold red", "medium": "red", "low": "yellow", "none": "green"}


def _severity_text(severity: str) -> str:
    return f"[{_SEVERITY_STYLE.get(severity, 'white')}]{severity}[/]"


def _print_drift(reports: list[Any], level: str, config_path: Path) -> None:
    if not reports:
        _out().print(
            f"No completed runs yet. Run `baselinr profile -c {shown(config_path)}` first."
        )
        return
    quiet = [r for r in reports if not r.findings and not r.schema_changes]
    for report in reports:
        if report in quiet:
            continue
        title = (
            f"{shown(report.qualified)}: {_severity_text(report.max_severity)} "
            f"(run {report.run_id[:12]}, {report.action}, vs {report.baseline_kind} "
            f"of {len(report.baseline_run_ids)} run(s))"
        )
        _out().print(title, highlight=False)
        if report.schema_changes:
            for change in report.schema_changes:
                _out().print(f"  schema: {_severity_text(change.severity)} {shown(change.detail)}")
        if report.findings:
            table = _table(show_edge=False, pad_edge=False, box=None)
            for name in ("Severity", "Column", "Metric", "What changed"):
                table.add_column(name, overflow="fold")
            for f in report.findings:
                table.add_row(
                    _severity_text(f.severity), shown(f.where), shown(f.metric), shown(f.detail)
                )
            _out().print(table)
        for note in report.notes:
            _out().print(f"  [dim]note: {shown(note)}[/]", highlight=False)
    if quiet:
        firsts = [r for r in quiet if not r.has_baseline]
        _out().print(
            f"No drift in {len(quiet)} table(s)"
            + (f" ({len(firsts)} with no earlier run to compare with)" if firsts else "")
            + "."
        )
    from baselinr.drift import highest

    worst = highest(r.max_severity for r in reports)
    _out().print(f"Worst: {_severity_text(worst)}; fail-on: {level}", highlight=False)


if __name__ == "__main__":  # pragma: no cover
    main()
