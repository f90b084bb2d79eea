"""Reading what Baselinr reported to Dagster, in tests."""

from typing import Any

import dagster as dg


def plain(value: Any) -> Any:
    """A metadata value as plain data: table metadata as a list of row dicts."""
    if isinstance(value, dg.TableMetadataValue):
        return [dict(r.data) for r in value.records]
    return getattr(value, "value", value)


def plain_metadata(metadata: Any) -> dict[str, Any]:
    return {k: plain(v) for k, v in metadata.items()}


def materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """Each materialized asset's metadata (plain), by key; an asset materialized twice in
    one run is an error."""
    found: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        m = event.materialization
        key = m.asset_key.to_user_string()
        assert key not in found, f"{key} materialized twice in one run"
        found[key] = plain_metadata(m.metadata)
    return found
