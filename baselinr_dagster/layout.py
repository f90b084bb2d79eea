"""The part of a Baselinr config that shapes Dagster definitions, read without
credentials: loading a code location never needs the warehouse's secrets."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from baselinr.config import load_without_secrets
from baselinr.config.drift import DriftDetectionConfig
from baselinr.config.models import IncrementalConfig, ProfilingConfig, infer_type_from_url


class LayoutConfig(BaseModel):
    """Environment, table entries, incremental and drift settings; other keys are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    environment: str = "development"
    profiling: ProfilingConfig = Field(default_factory=ProfilingConfig)
    incremental: IncrementalConfig = Field(default_factory=IncrementalConfig)
    drift_detection: DriftDetectionConfig = Field(default_factory=DriftDetectionConfig)
    source: dict[str, Any] = Field(default_factory=dict)

    @property
    def source_type(self) -> str | None:
        kind = self.source.get("type")
        if isinstance(kind, str) and kind:
            return kind
        url = self.source.get("url")
        if isinstance(url, str) and url:
            try:
                return infer_type_from_url(url)
            except ValueError:
                return None
        return None


def load_layout(path: str | Path) -> LayoutConfig:
    return load_without_secrets(path, LayoutConfig)
