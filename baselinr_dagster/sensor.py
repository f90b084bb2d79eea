"""``baselinr_plan_sensor``: each tick asks the planner what changed and requests a run
for those assets only.

Cursor (compact JSON): per asset, its profile signature (what shapes its profile),
the drift settings' signature and a hash of its tables' snapshot ids —
``{"v": 2, "a": {"baselinr/main/orders": ["<profile sig>", "<drift sig>", "<snaps>"]}}``.
An asset is requested when its profile signature changed or when the planner decides
``full``, ``partial`` or ``sample`` for one of its tables (a changed profile
signature is a ``config_changed`` full profile for the planner too). Drift settings
never re-profile: when only they changed, the sensor requests the assets' drift and
schema checks alone, which re-judge the stored runs. The run key hashes what is
requested (assets, snapshot ids, signatures, the latest attempt per table), so the
same request is not launched twice while a run is pending, and any new change — or a
finished attempt — makes a new key.
"""

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from baselinr.config.effective import drift_signature, requested_metrics
from baselinr.connectors import describe
from baselinr.errors import (
    BaselinrError,
    StorageError,
    StorageUnavailableError,
    WarehouseUnavailableError,
)
from baselinr.incremental.plan import TableDecision
from baselinr.planner import PlanBuilder
from baselinr.redact import redact
from baselinr.storage import storage_errors
from baselinr_dagster.checks import DRIFT_CHECK, SCHEMA_CHECK
from baselinr_dagster.layout import load_layout
from baselinr_dagster.resource import shared_context
from baselinr_dagster.safety import redacted_errors
from baselinr_dagster.translator import (
    SUMMARY_NAME,
    AssetOptions,
    BaselinrTranslator,
    EntryAsset,
    entry_assets,
)

CURSOR_VERSION = 2
# How far back a table's latest attempt is looked for (part of the run key).
ATTEMPT_WINDOW = dt.timedelta(days=7)
_MAX_TAG = 1000


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def parse_cursor(cursor: str | None) -> dict[str, list[str]]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
        return {}
    assets = data.get("a")
    return assets if isinstance(assets, dict) else {}


def _tag_list(names: Sequence[str]) -> str:
    text = ",".join(names)
    if len(text) <= _MAX_TAG:
        return text
    kept: list[str] = []
    for name in names:
        if len(",".join([*kept, name])) > _MAX_TAG - 20:
            break
        kept.append(name)
    return ",".join(kept) + f",+{len(names) - len(kept)} more"


def evaluate_plan(
    context: dg.SensorEvaluationContext,
    config_path: str,
    asset_prefix: str,
    translator: BaselinrTranslator | None = None,
    max_assets_per_run: int | None = None,
) -> list[dg.RunRequest] | dg.SkipReason:
    layout = load_layout(config_path)
    options = AssetOptions(asset_prefix)
    assets = entry_assets(layout, options, translator)
    summary = dg.AssetKey([*options.prefix, SUMMARY_NAME])
    drift = drift_signature(layout.drift_detection)
    previous = parse_cursor(context.cursor)
    shared = shared_context(config_path)
    try:
        plan = PlanBuilder(shared.config, shared).get_tables_to_run()
        storage = shared.storage
        with storage_errors(storage.engine):
            attempts = storage.reader.latest_attempts(ATTEMPT_WINDOW)
    except StorageUnavailableError as exc:
        return dg.SkipReason(redact(f"Baselinr result storage unavailable: {exc}"))
    except StorageError as exc:  # a newer or damaged schema: the cursor does not move
        return dg.SkipReason(redact(f"Baselinr result storage unusable: {exc}"))
    except WarehouseUnavailableError as exc:
        return dg.SkipReason(redact(f"Baselinr source unreachable ({_source(shared)}): {exc}"))
    except BaselinrError as exc:
        return dg.SkipReason(redact(f"Baselinr could not plan ({_source(shared)}): {exc}"))

    by_entry: dict[int, list[TableDecision]] = defaultdict(list)
    for decision in plan.decisions:
        by_entry[decision.entry_index].append(decision)

    cursor: dict[str, list[str]] = {}
    requested: list[tuple[EntryAsset, bool, list[TableDecision]]] = []
    rejudge: list[EntryAsset] = []
    in_flight: list[str] = []
    for asset in assets:
        key = asset.key.to_user_string()
        decisions = by_entry.get(asset.index, [])
        snapshots = _hash(sorted((d.qualified, d.snapshot_id) for d in decisions))
        cursor[key] = [asset.signature, drift, snapshots]
        before = previous.get(key)
        config_changed = before is not None and before[0] != asset.signature
        drift_changed = before is not None and before[1] != drift
        new_asset = before is None and bool(previous)
        to_run = [d for d in decisions if d.runs]
        busy = [d for d in to_run if attempts.get((d.schema, d.table), ("", False))[1]]
        if busy and len(busy) == len(to_run) and not config_changed:
            in_flight.append(key)
            continue
        if config_changed or new_asset or to_run:
            requested.append((asset, config_changed, to_run))
        elif drift_changed and layout.drift_detection.enabled:
            rejudge.append(asset)

    new_cursor = json.dumps({"v": CURSOR_VERSION, "a": cursor}, separators=(",", ":"))
    if not requested and rejudge:
        context.update_cursor(new_cursor)
        return [_rejudge_request(rejudge, drift)]
    if not requested:
        context.update_cursor(new_cursor)
        summary_text = ", ".join(f"{n} {a}" for a, n in plan.to_summary().items() if n)
        note = f"; {len(in_flight)} asset(s) already being profiled" if in_flight else ""
        return dg.SkipReason(
            f"No Baselinr table needs profiling ({len(plan.decisions)} tables checked: "
            f"{summary_text or 'none'}){note}"
        )

    size = max_assets_per_run or len(requested)
    chunks = [requested[i : i + size] for i in range(0, len(requested), size)]
    requests = [
        _run_request(layout, chunk, attempts, summary, i, len(chunks))
        for i, chunk in enumerate(chunks)
    ]
    context.update_cursor(new_cursor)
    pending = [r for r in requests if not _already_requested(context.instance, r)]
    if not pending:
        tables = sorted({t for r in requests for t in r.tags["baselinr/changed_tables"].split(",")})
        return dg.SkipReason(
            f"Baselinr already requested these in run(s) still pending or in progress "
            f"({len(requests)} request(s), tables: {_tag_list(tables)}); nothing new to request"
        )
    return pending


Requested = tuple[EntryAsset, bool, list[TableDecision]]


def _run_request(
    layout: Any,
    requested: Sequence[Requested],
    attempts: dict[Any, Any],
    summary: dg.AssetKey,
    index: int,
    chunks: int,
) -> dg.RunRequest:
    """One run for ``requested`` (and the summary asset, which every run that profiles
    materializes). Compact tags: what changed, how many metrics are asked for, and —
    only when there is something to say — config changes and the part of a split."""
    keys = [asset.key for asset, _, _ in requested]
    changed = sorted(asset.key.to_user_string() for asset, changed, _ in requested if changed)
    tables = sorted({d.qualified for _, _, ds in requested for d in ds})
    metric_requests = sum(
        len(requested_metrics(layout.profiling, asset.entry)) * max(len(ds), 1)
        for asset, _, ds in requested
    )
    run_key = _hash(
        [
            [
                asset.key.to_user_string(),
                asset.signature,
                sorted(
                    (d.qualified, d.action, d.snapshot_id, attempts.get((d.schema, d.table)))
                    for d in ds
                ),
            ]
            for asset, _, ds in requested
        ]
    )
    tags = {
        "baselinr/changed_tables": _tag_list(tables) or "none",
        "baselinr/metrics_requested": str(metric_requests),
    }
    if changed:
        tags["baselinr/config_changed"] = _tag_list(changed)
    if chunks > 1:
        tags["baselinr/part"] = f"{index + 1}/{chunks}"
    # No checks selected: the profiling step evaluates every check of its assets anyway
    # and logs the results, and selecting them would only add a "planned" event per
    # check at run start (the costliest event of a run; see bench/dagster_bench.py).
    return dg.RunRequest(
        run_key=f"baselinr-{run_key}",
        asset_selection=[*keys, summary],
        asset_check_keys=[],
        tags=tags,
    )


def _already_requested(instance: dg.DagsterInstance, request: dg.RunRequest) -> bool:
    """A run with this run key exists and has not finished: Dagster would drop the
    request silently, so the tick says why instead."""
    runs = instance.get_runs(
        dg.RunsFilter(
            tags={"dagster/run_key": request.run_key or ""},
            statuses=[
                dg.DagsterRunStatus.QUEUED,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
        ),
        limit=1,
    )
    return bool(runs)


def _rejudge_request(assets: Sequence[EntryAsset], drift: str) -> dg.RunRequest:
    """The drift and schema checks of ``assets`` alone: they re-judge the stored runs
    under the new drift settings; nothing is profiled."""
    checks = [dg.AssetCheckKey(a.key, c) for a in assets for c in (DRIFT_CHECK, SCHEMA_CHECK)]
    names = [a.key.to_user_string() for a in assets]
    return dg.RunRequest(
        run_key=f"baselinr-checks-{_hash([drift, names])}",
        asset_selection=[],
        asset_check_keys=checks,
        tags={"baselinr/drift_settings_changed": _tag_list(names)},
    )


def _source(shared: Any) -> str:
    try:
        return describe(shared.warehouse.url)
    except BaselinrError as exc:
        return str(exc)


def baselinr_plan_sensor(
    config_path: str | Path,
    job_name: str = "baselinr_profile_all",
    *,
    asset_prefix: str = "baselinr",
    name: str = "baselinr_plan_sensor",
    minimum_interval_seconds: int = 300,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    translator: BaselinrTranslator | None = None,
    max_assets_per_run: int | None = None,
) -> dg.SensorDefinition:
    """A sensor that requests runs of ``job_name`` for the assets whose tables changed.

    Usable on its own: it reads ``config_path`` itself and needs no resources.
    ``max_assets_per_run`` splits a large request into several runs (each with its own
    run key) that a distributed run launcher or the run queue can run in parallel.
    """
    if max_assets_per_run is not None and max_assets_per_run < 1:
        raise dg.DagsterInvalidDefinitionError("max_assets_per_run must be at least 1")
    path = str(Path(config_path).resolve())

    @dg.sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description="Asks Baselinr's incremental planner which tables changed (from "
        "warehouse metadata) and requests runs for those assets only.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
        with redacted_errors(as_failure=False):
            return evaluate_plan(context, path, asset_prefix, translator, max_assets_per_run)

    return _sensor
