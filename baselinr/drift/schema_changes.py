"""Columns added, removed or retyped between two consecutive runs of a table."""

from collections.abc import Mapping

from baselinr.config.drift import SchemaChangeConfig
from baselinr.drift.report import SchemaChange


def _normal(type_name: str | None) -> str:
    return " ".join((type_name or "").upper().split())


def schema_changes(
    previous: Mapping[str, str | None],
    current: Mapping[str, str | None],
    config: SchemaChangeConfig,
) -> tuple[SchemaChange, ...]:
    """Changes from ``previous`` to ``current`` (column -> type), in column order:
    current columns first, then the removed ones."""
    if not config.enabled:
        return ()
    changes = []
    for name, type_name in current.items():
        if name not in previous:
            changes.append(SchemaChange(name, "added", None, type_name, config.added))
        elif _normal(previous[name]) != _normal(type_name):
            changes.append(
                SchemaChange(name, "type_changed", previous[name], type_name, config.type_changed)
            )
    for name, type_name in previous.items():
        if name not in current:
            changes.append(SchemaChange(name, "removed", type_name, None, config.removed))
    return tuple(changes)
