"""``PlanBuilder``: the one entry point that the CLI, the Dagster sensor and the Dagster
assets use to decide what to profile.

Planning reads warehouse metadata only; it never scans table data and never writes.
"""

from collections.abc import Iterable

from baselinr.catalog import Catalog, ResolvedEntry, TableRef, resolve
from baselinr.config.models import BaselinrConfig, SamplingConfig, TableEntry
from baselinr.context import BaselinrContext
from baselinr.incremental.plan import IncrementalPlan, TableDecision


def effective_sampling(config: BaselinrConfig, entry: TableEntry) -> SamplingConfig | None:
    """The entry's sampling, else the profiling default, when enabled."""
    sampling = entry.sampling or config.profiling.sampling
    return sampling if sampling.enabled else None


class PlanBuilder:
    def __init__(self, config: BaselinrConfig, context: BaselinrContext | None = None) -> None:
        self.config = config
        self.context = context or BaselinrContext(config)

    def resolve(self, entries: Iterable[int] | None = None) -> Catalog:
        """The concrete tables of the given entries (all entries by default)."""
        chosen = None
        if entries is not None:
            wanted = set(entries)
            chosen = [(i, e) for i, e in enumerate(self.config.profiling.tables) if i in wanted]
        with self.context.connect() as conn:
            return resolve(conn, self.context.dialect, self.config, chosen)

    def get_tables_to_run(
        self,
        entries: Iterable[int] | None = None,
        tables: Iterable[str] | None = None,
    ) -> IncrementalPlan:
        """Decide, per concrete table, what the next run does and why.

        ``entries`` limits planning to some ``profiling.tables`` indexes (a Dagster
        asset); ``tables`` to names (``orders`` or ``public.orders``).
        """
        catalog = self.resolve(entries)
        pairs = catalog.tables
        if tables is not None:
            wanted = set(tables)
            pairs = [(e, t) for e, t in pairs if t.table in wanted or t.qualified in wanted]
        with self.context.connect() as conn:
            database = self.context.dialect.database_name(conn)
        decisions = [self._decide(database, entry, table) for entry, table in pairs]
        return IncrementalPlan(decisions=tuple(decisions), warnings=tuple(catalog.warnings))

    def _decide(self, database: str, entry: ResolvedEntry, table: TableRef) -> TableDecision:
        sampling = effective_sampling(self.config, entry.entry)
        if sampling is not None:
            action, reason = "sample", "sampling_configured"
        else:
            action, reason = "full", "incremental_disabled"
        return TableDecision(
            database=database,
            schema=table.schema,
            table=table.table,
            entry_index=entry.index,
            action=action,
            reason=reason,
            sample_fraction=sampling.fraction if sampling else None,
        )
