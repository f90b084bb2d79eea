"""``PlanBuilder``: the one entry point that the CLI, the Dagster sensor and the Dagster
assets use to decide what to profile.

Planning reads warehouse metadata (and, on engines without any, cheap fingerprint
queries) and stored state, once per plan; it never scans table data for profiling and
never writes. Each decision carries what it was decided from (the detector's snapshot,
the table's state) so that executing the plan reads neither again.
"""

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from baselinr.catalog import Catalog, ResolvedEntry, TableRef, resolve
from baselinr.config.effective import (
    effective_sampling,
    partial_capable,
    profile_signature,
    unmerged_metrics,
)
from baselinr.config.models import BaselinrConfig, TableEntry
from baselinr.connectors import first_line
from baselinr.context import BaselinrContext
from baselinr.incremental.decide import (
    FORCED,
    INCREMENTAL_OFF,
    SAMPLING_CONFIGURED,
    TableFacts,
    decide,
    not_due,
)
from baselinr.incremental.detectors import DetectTarget, TableSnapshot
from baselinr.incremental.detectors.base import unavailable
from baselinr.incremental.plan import IncrementalPlan, TableDecision
from baselinr.incremental.schedule import pinned_interval


class PlanBuilder:
    def __init__(self, config: BaselinrConfig, context: BaselinrContext | None = None) -> None:
        self.config = config
        self.context = context or BaselinrContext(config)

    def _chosen(self, entries: Iterable[int] | None) -> list[tuple[int, TableEntry]] | None:
        if entries is None:
            return None
        wanted = set(entries)
        return [(i, e) for i, e in enumerate(self.config.profiling.tables) if i in wanted]

    def resolve(self, entries: Iterable[int] | None = None) -> Catalog:
        """The concrete tables of the given entries (all entries by default)."""
        with self.context.connect() as conn:
            return resolve(conn, self.context.dialect, self.config, self._chosen(entries))

    def get_tables_to_run(
        self,
        entries: Iterable[int] | None = None,
        tables: Iterable[str] | None = None,
        *,
        now: dt.datetime | None = None,
        force_full: Iterable[int] = (),
    ) -> IncrementalPlan:
        """Decide, per concrete table, what the next run does and why.

        ``entries`` limits planning to some ``profiling.tables`` indexes (a Dagster
        asset); ``tables`` to names (``orders`` or ``public.orders``). ``now`` is the
        time decisions are made for (default: the current time); executing the plan
        records it as the time of the checks and profiles. Tables of the entries in
        ``force_full`` are profiled in full whatever their change metadata says
        (deferrals and sampling stay as planned).
        """
        now = now or dt.datetime.now(dt.timezone.utc)
        forced = frozenset(force_full)
        dialect = self.context.dialect
        with self.context.connect() as conn:
            catalog = resolve(conn, dialect, self.config, self._chosen(entries))
            pairs = catalog.tables
            if tables is not None:
                wanted = set(tables)
                pairs = [(e, t) for e, t in pairs if t.table in wanted or t.qualified in wanted]
            database = dialect.database_name(conn)
            warnings = list(catalog.warnings)
            if self.config.incremental.enabled:
                decisions = self._incremental(conn, database, pairs, now, forced, warnings)
            else:
                decisions = [self._static(database, entry, table) for entry, table in pairs]
        return IncrementalPlan(decisions=tuple(decisions), created_at=now, warnings=tuple(warnings))

    def _static(self, database: str, entry: ResolvedEntry, table: TableRef) -> TableDecision:
        sampling = effective_sampling(self.config.profiling, entry.entry)
        if sampling is not None:
            action, reason = "sample", SAMPLING_CONFIGURED
        else:
            action, reason = "full", INCREMENTAL_OFF
        return TableDecision(
            database=database,
            schema=table.schema,
            table=table.table,
            entry_index=entry.index,
            action=action,
            reason=reason,
            sample_fraction=sampling.fraction if sampling else None,
        )

    def _incremental(
        self,
        conn: sa.Connection,
        database: str,
        pairs: list[tuple[ResolvedEntry, TableRef]],
        now: dt.datetime,
        forced: frozenset[int],
        warnings: list[str],
    ) -> list[TableDecision]:
        config = self.config
        profiling, inc = config.profiling, config.incremental
        store = self.context.state
        states = store.table_states(database)
        stored_partitions = store.partition_fingerprints(database)
        facts = []
        for entry, table in pairs:
            sampling = effective_sampling(profiling, entry.entry)
            facts.append(
                TableFacts(
                    database=database,
                    table=table,
                    entry_index=entry.index,
                    signature=profile_signature(profiling, inc, entry.entry),
                    sample_fraction=sampling.fraction if sampling else None,
                    partial_capable=partial_capable(profiling, inc, entry.entry),
                    state=states.get(table),
                    stored_partitions=stored_partitions.get(table, {}),
                    pinned_interval=pinned_interval(inc.adaptive_scheduling, database, table)
                    if inc.adaptive_scheduling.enabled
                    else None,
                    unmerged_metrics=unmerged_metrics(profiling, inc, entry.entry),
                    forced=entry.index in forced,
                )
            )
        early = {f.table: not_due(f, inc, now) for f in facts}
        due = [f for f in facts if early[f.table] is None]
        snapshots = self._detect(conn, due, pairs)
        warnings += _snapshot_warnings(facts, snapshots)
        return [early[f.table] or decide(f, snapshots.get(f.table), inc, now) for f in facts]

    def _detect(
        self,
        conn: sa.Connection,
        facts: list[TableFacts],
        pairs: list[tuple[ResolvedEntry, TableRef]],
    ) -> dict[TableRef, TableSnapshot]:
        if not facts:
            return {}
        entries = {table: entry.entry for entry, table in pairs}
        targets = []
        for f in facts:
            entry = entries[f.table]
            key = entry.partition.key if entry.partition and f.partial_capable else None
            targets.append(DetectTarget(f.table, key, entry.watermark_column))
        detector = self.context.detector
        try:
            return detector.detect(conn, targets)
        except sa.exc.DBAPIError as exc:
            why = f"{detector.name} detector failed: {first_line(exc)}"
            return {t.table: unavailable(t.table, detector.name, why) for t in targets}


def _snapshot_warnings(
    facts: list[TableFacts], snapshots: dict[TableRef, TableSnapshot]
) -> list[str]:
    """What a detector found wrong with the config of a table (a watermark column
    that does not exist)."""
    found = []
    for f in facts:
        snapshot = snapshots.get(f.table)
        missing = snapshot.details.get("watermark_missing") if snapshot is not None else None
        if missing:
            found.append(
                f"profiling.tables[{f.entry_index}]: watermark_column '{missing}' does not "
                f"exist in {f.table}: its change cannot be detected, so it is profiled in full "
                "every run until the column is fixed"
            )
    return found


__all__ = ["FORCED", "PlanBuilder"]
