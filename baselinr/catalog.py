"""Turn ``profiling.tables`` entries into concrete tables, in a deterministic order."""

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from baselinr.config.models import BaselinrConfig, ColumnSelection, TableEntry
from baselinr.connectors import ColumnInfo, Dialect
from baselinr.errors import TableNotFoundError
from baselinr.logs import get_logger
from baselinr.patterns import compile_pattern, matches_any

log = get_logger(__name__)


@dataclass(frozen=True, order=True)
class TableRef:
    schema: str | None
    table: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def __str__(self) -> str:
        return self.qualified


@dataclass(frozen=True)
class ResolvedEntry:
    index: int
    entry: TableEntry
    tables: tuple[TableRef, ...]


@dataclass
class Catalog:
    """Resolved entries plus the warnings found on the way."""

    entries: list[ResolvedEntry]
    warnings: list[str] = field(default_factory=list)

    @property
    def tables(self) -> list[tuple[ResolvedEntry, TableRef]]:
        return [(e, t) for e in self.entries for t in e.tables]


def entry_schema(entry: TableEntry, config: BaselinrConfig) -> str | None:
    return entry.schema_ or config.source.schema_


def resolve(
    conn: Connection,
    dialect: Dialect,
    config: BaselinrConfig,
    entries: list[tuple[int, TableEntry]] | None = None,
) -> Catalog:
    """Resolve entries (all of them by default) against the warehouse.

    A named table that does not exist is an error; a pattern that matches nothing is
    a warning. A table matched by more than one entry belongs to the first.
    """
    if entries is None:
        entries = list(enumerate(config.profiling.tables))
    default_schema = dialect.default_schema(conn)
    listing: dict[str | None, list[str]] = {}

    def tables_in(schema: str | None) -> list[str]:
        if schema not in listing:
            listing[schema] = dialect.list_tables(conn, schema)
        return listing[schema]

    seen: set[TableRef] = set()
    catalog = Catalog(entries=[])
    for index, entry in entries:
        schema = entry_schema(entry, config) or default_schema
        where = f"profiling.tables[{index}]"
        if entry.table:
            if entry.table not in tables_in(schema):
                raise TableNotFoundError(
                    f"{where}: table '{schema}.{entry.table}' does not exist in the warehouse"
                    + _nearby(entry.table, tables_in(schema))
                )
            names = [entry.table]
        else:
            names = list(tables_in(schema))
            if entry.pattern:
                match = compile_pattern(entry.pattern, entry.pattern_type)
                names = [n for n in names if match.matches(n)]
            excludes = entry.exclude_patterns
            names = [n for n in names if not matches_any(n, excludes, entry.pattern_type)]
            if not names:
                message = f"{where}: '{entry.selector}' matched no tables in schema '{schema}'"
                log.warning(message)
                catalog.warnings.append(message)
        refs = []
        for name in sorted(names):
            ref = TableRef(schema, name)
            if ref in seen:
                message = f"{where}: {ref} is already profiled by an earlier entry; skipped here"
                log.warning(message)
                catalog.warnings.append(message)
                continue
            seen.add(ref)
            refs.append(ref)
        catalog.entries.append(ResolvedEntry(index, entry, tuple(refs)))
    return catalog


def _nearby(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def select_columns(columns: list[ColumnInfo], selection: ColumnSelection) -> list[ColumnInfo]:
    """Apply an entry's ``columns: {include, exclude}`` wildcards, keeping table order."""

    include, exclude = selection.include, selection.exclude
    chosen = [c for c in columns if include is None or matches_any(c.name, include)]
    return [c for c in chosen if not matches_any(c.name, exclude)]
