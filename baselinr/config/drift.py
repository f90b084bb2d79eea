"""The ``drift_detection:`` section: how each run is compared with its baseline.

Global settings apply to every column; ``types`` (by column category) and ``columns``
(by name pattern) override them field by field, column over type over global.
``DriftDetectionConfig.settings_for`` resolves what applies to one column.
"""

import fnmatch
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from baselinr.config.base import StrictModel
from baselinr.profiling.metrics import CATEGORIES, METRICS

Severity = Literal["low", "medium", "high"]
StrategyName = Literal["absolute_threshold", "standard_deviation", "psi"]
BaselineKind = Literal["auto", "last_run", "moving_average", "prior_period"]

#: Metrics of the table rather than of a column (taken from the run).
TABLE_METRICS: tuple[str, ...] = ("row_count",)

#: What is watched unless ``metrics`` says otherwise. Left out: counts that follow the
#: table's size (``count``, ``null_count``: ``row_count`` and ``null_ratio`` say the same
#: without the noise), ``distinct_count`` (it follows the table's size for keys and the
#: rare tail for discrete values; ``unique_ratio`` and ``top_values`` carry its signal)
#: and ``min``/``max`` (extremes are the noisiest statistic of a column). Metrics a run
#: did not profile are ignored.
DEFAULT_WATCHED_METRICS: tuple[str, ...] = (
    "row_count",
    "null_ratio",
    "unique_ratio",
    "mean",
    "stddev",
    "avg_length",
    "histogram",
    "top_values",
)


def _check_watched(names: list[str]) -> list[str]:
    known = set(METRICS) | set(TABLE_METRICS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return names


class _Levels(StrictModel):
    low: float
    medium: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "_Levels":
        if not (0 < self.low <= self.medium <= self.high):
            raise ValueError(
                f"need 0 < low <= medium <= high (got {self.low}, {self.medium}, {self.high})"
            )
        return self

    def severity(self, score: float) -> str:
        """``none``, ``low``, ``medium`` or ``high`` for a non-negative score."""
        if score >= self.high:
            return "high"
        if score >= self.medium:
            return "medium"
        if score >= self.low:
            return "low"
        return "none"


class AbsoluteThresholdConfig(_Levels):
    """Percent change for values; percentage points for ratios (``null_ratio``,
    ``unique_ratio``) and for distributions (share of rows that moved)."""

    low: float = 5.0
    medium: float = 15.0
    high: float = 30.0
    # A value that was exactly 0 has no percent change: this is its severity.
    from_zero: Severity | Literal["none"] = "medium"


class StandardDeviationConfig(_Levels):
    """z-score against the metric's own history: the last ``window`` runs. With a short
    history a big deviation is less surprising, so the deviation is turned into the
    normal z with the same tail probability (Student t) before the levels apply."""

    low: float = 3.0
    medium: float = 3.5
    high: float = 5.0
    window: int = Field(default=20, ge=2, le=500)
    min_history: int = Field(default=5, ge=2)
    # The history's spread is taken as at least this share of its mean, so a metric
    # that never moved does not turn a tiny change into a 100-sigma event.
    min_relative_std: float = Field(default=0.005, ge=0)


class RatioChangeConfig(StrictModel):
    """Ratio metrics (``null_ratio``, ``unique_ratio``) are judged by their relative
    change as well as by points: ``|current - baseline| / max(baseline, floor_points /
    100)``, in percent, so that a small share that grows by half is news (cancellations
    1.9% -> 5.05% of flights: +3.2 points, +166%) while 0.01% -> 0.02% is not (the
    floor makes it a 1% change). Applies to ``absolute_threshold`` and ``psi``; the change
    must also be beyond counting noise (``significance_level``). ``high: null`` (the
    default) leaves ``high`` to the points levels, so a never-null column that is now
    20% null stays ``medium``."""

    enabled: bool = True
    low: float = 25.0
    medium: float = 50.0
    high: float | None = None
    floor_points: float = Field(default=1.0, gt=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> "RatioChangeConfig":
        top = self.high if self.high is not None else math.inf
        if not (0 < self.low <= self.medium <= top):
            raise ValueError(
                f"need 0 < low <= medium <= high (got {self.low}, {self.medium}, {self.high})"
            )
        return self

    def severity(self, percent: float) -> str:
        if self.high is not None and percent >= self.high:
            return "high"
        if percent >= self.medium:
            return "medium"
        if percent >= self.low:
            return "low"
        return "none"


class PSIConfig(_Levels):
    """Population stability index on histograms, top values and ratios."""

    low: float = 0.1
    medium: float = 0.25
    high: float = 0.5


class BaselineConfig(StrictModel):
    # auto: last_run for absolute_threshold and psi, moving_average for standard_deviation
    kind: BaselineKind = "auto"
    window: int = Field(default=10, ge=1, le=500)  # runs, for moving_average
    days: int = Field(default=7, ge=1, le=3660)  # prior_period: compare with ~days ago


class SchemaChangeConfig(StrictModel):
    enabled: bool = True
    added: Severity = "low"
    removed: Severity = "high"
    type_changed: Severity = "medium"


class DriftOverride(StrictModel):
    """Per-type or per-column settings; what is not set comes from the level above.
    Threshold blocks merge key by key (``absolute_threshold: {medium: 25}`` keeps the
    other levels)."""

    enabled: bool | None = None
    strategy: StrategyName | None = None
    metrics: list[str] | None = None
    baseline: dict[str, Any] | None = None
    absolute_threshold: dict[str, Any] | None = None
    standard_deviation: dict[str, Any] | None = None
    psi: dict[str, Any] | None = None
    ratio_change: dict[str, Any] | None = None

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_watched(value)


@dataclass(frozen=True)
class DriftSettings:
    """What applies to one column after overrides. ``baseline`` is resolved (never
    ``auto``)."""

    enabled: bool
    strategy: str
    metrics: frozenset[str]
    baseline: str
    window: int
    days: int
    absolute_threshold: AbsoluteThresholdConfig
    standard_deviation: StandardDeviationConfig
    psi: PSIConfig
    ratio_change: RatioChangeConfig = field(default_factory=RatioChangeConfig)

    @property
    def baseline_window(self) -> int:
        """Runs in the moving window (the history, for standard_deviation)."""
        if self.strategy == "standard_deviation":
            return self.standard_deviation.window
        return self.window

    @property
    def history_runs(self) -> int:
        """How many previous runs this column's baseline needs."""
        if self.baseline == "moving_average":
            return self.baseline_window
        return 1 if self.baseline == "last_run" else 0


_NESTED: dict[str, type[StrictModel]] = {
    "baseline": BaselineConfig,
    "absolute_threshold": AbsoluteThresholdConfig,
    "standard_deviation": StandardDeviationConfig,
    "psi": PSIConfig,
    "ratio_change": RatioChangeConfig,
}


class DriftDetectionConfig(StrictModel):
    """Compare every completed run with a baseline and report what moved."""

    enabled: bool = True
    strategy: StrategyName = "absolute_threshold"
    baseline: BaselineConfig = Field(default_factory=BaselineConfig)
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_WATCHED_METRICS))
    absolute_threshold: AbsoluteThresholdConfig = Field(default_factory=AbsoluteThresholdConfig)
    standard_deviation: StandardDeviationConfig = Field(default_factory=StandardDeviationConfig)
    psi: PSIConfig = Field(default_factory=PSIConfig)
    ratio_change: RatioChangeConfig = Field(default_factory=RatioChangeConfig)
    # Distribution changes (histograms, top values) that random sampling of that many
    # rows would produce with probability above this are not reported.
    significance_level: float = Field(default=0.001, gt=0, lt=1)
    # Sampled runs: compare only the metrics a sample estimates fairly, or leave
    # sampled runs out of drift detection altogether.
    sampled_runs: Literal["compare", "exclude"] = "compare"
    schema_changes: SchemaChangeConfig = Field(default_factory=SchemaChangeConfig)
    # `baselinr drift` exits 1, and checks fail, on drift at or above this severity.
    fail_on: Severity = "medium"
    # Severity of a failing Dagster asset check (baselinr_drift, baselinr_schema).
    check_severity: Literal["WARN", "ERROR"] = "WARN"
    types: dict[str, DriftOverride] = Field(default_factory=dict)
    columns: dict[str, DriftOverride] = Field(default_factory=dict)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        return _check_watched(value)

    @field_validator("check_severity", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: dict[str, DriftOverride]) -> dict[str, DriftOverride]:
        unknown = [k for k in value if k not in CATEGORIES]
        if unknown:
            raise ValueError(
                f"unknown column type(s) {', '.join(unknown)}; known: {', '.join(CATEGORIES)}"
            )
        return value

    @field_validator("columns")
    @classmethod
    def _column_keys(cls, value: dict[str, DriftOverride]) -> dict[str, DriftOverride]:
        for key in value:
            if not key or key.count(".") > 2:
                raise ValueError(
                    f"column key {key!r} must be 'column', 'table.column' or "
                    "'schema.table.column' (wildcards allowed)"
                )
        return value

    @model_validator(mode="after")
    def _combinations(self) -> "DriftDetectionConfig":
        _check_strategy_baseline(self.strategy, self.baseline.kind, None)
        for section, overrides in (("types", self.types), ("columns", self.columns)):
            for key, override in overrides.items():
                self._resolve((override,), f"{section}.{key}")
        for type_key, type_override in self.types.items():
            for column_key, column_override in self.columns.items():
                # Thresholds must stay ordered whichever column meets both overrides;
                # a standard_deviation column always uses the moving-average history.
                where = f"types.{type_key} with columns.{column_key}"
                self._resolve((type_override, column_override), where, check_baseline=False)
        return self

    # --- resolution -----------------------------------------------------------------
    def settings_for(
        self,
        schema: str | None,
        table: str,
        column: str | None,
        category: str | None,
    ) -> DriftSettings:
        """The settings for one column (``column=None``: table-level metrics)."""
        layers = []
        if category is not None and category in self.types:
            layers.append(self.types[category])
        if column is not None:
            key = self._column_key(schema, table, column)
            if key is not None:
                layers.append(self.columns[key])
        return self._resolve(tuple(layers), None)

    def history_needs(self) -> tuple[int, frozenset[int]]:
        """Upper bounds over every override: how many earlier runs to read, and which
        prior periods (days) to look up."""
        found = [self._resolve((), None)]
        for override in (*self.types.values(), *self.columns.values()):
            found.append(self._resolve((override,), None))
        for type_override in self.types.values():
            for column_override in self.columns.values():
                found.append(self._resolve((type_override, column_override), None))
        runs = max(s.history_runs for s in found)
        days = frozenset(s.days for s in found if s.baseline == "prior_period")
        return runs, days

    def watched_metrics(self) -> frozenset[str]:
        """Every metric any column watches."""
        names = set(self.metrics)
        for override in (*self.types.values(), *self.columns.values()):
            names |= set(override.metrics or ())
        return frozenset(names)

    def _column_key(self, schema: str | None, table: str, column: str) -> str | None:
        names = {0: column, 1: f"{table}.{column}", 2: f"{schema or ''}.{table}.{column}"}
        for key in self.columns:  # first matching key wins
            if fnmatch.fnmatchcase(names[key.count(".")], key):
                return key
        return None

    def _resolve(
        self, layers: tuple[DriftOverride, ...], where: str | None, check_baseline: bool = True
    ) -> DriftSettings:
        values: dict[str, Any] = {
            "enabled": self.enabled,
            "strategy": self.strategy,
            "metrics": list(self.metrics),
        }
        nested: dict[str, dict[str, Any]] = {
            name: getattr(self, name).model_dump() for name in _NESTED
        }
        for layer in layers:
            for name in ("enabled", "strategy", "metrics"):
                if getattr(layer, name) is not None:
                    values[name] = getattr(layer, name)
            for name in _NESTED:
                part = getattr(layer, name)
                if part is not None:
                    nested[name] = {**nested[name], **part}
        built: dict[str, Any] = {}
        for name, model in _NESTED.items():
            try:
                built[name] = model.model_validate(nested[name])
            except ValidationError as exc:
                problem = exc.errors(include_url=False)[0]
                key = ".".join(str(p) for p in problem["loc"])
                msg = str(problem["msg"]).removeprefix("Value error, ")
                raise ValueError(
                    f"{where or 'override'}.{name}{'.' + key if key else ''}: {msg}"
                ) from None
        baseline: BaselineConfig = built["baseline"]
        explicit_kind = any(
            layer.baseline is not None and "kind" in layer.baseline for layer in layers
        )
        if (
            check_baseline
            and where is not None
            and (explicit_kind or any(layer.strategy for layer in layers))
        ):
            _check_strategy_baseline(values["strategy"], baseline.kind, where)
        kind = baseline.kind
        if kind == "auto" or values["strategy"] == "standard_deviation":
            kind = "moving_average" if values["strategy"] == "standard_deviation" else "last_run"
        return DriftSettings(
            enabled=values["enabled"],
            strategy=values["strategy"],
            metrics=frozenset(values["metrics"]),
            baseline=kind,
            window=baseline.window,
            days=baseline.days,
            absolute_threshold=built["absolute_threshold"],
            standard_deviation=built["standard_deviation"],
            psi=built["psi"],
            ratio_change=built["ratio_change"],
        )


def _check_strategy_baseline(strategy: str, kind: str, where: str | None) -> None:
    if strategy == "standard_deviation" and kind in ("last_run", "prior_period"):
        raise ValueError(
            f"{where + ': ' if where else ''}standard_deviation judges a metric against its history of "
            f"runs, so baseline.kind must be moving_average or auto (got {kind})"
        )
