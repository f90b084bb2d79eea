"""The config loader: every documented key, ${VAR} interpolation, BASELINR_*
overrides, source.url, relative paths, and readable errors that never show a
password."""

import textwrap
from pathlib import Path

import pytest

from baselinr.config import load_config
from baselinr.connectors import build_url
from baselinr.errors import ConfigError

SECRET = "hunter2-S3cr3t"

FULL = """\
environment: production
source:
  type: postgres
  host: db.internal
  port: 6543
  database: analytics
  username: ${PGUSER}
  password: ${PGPASSWORD}
  schema: public
  connect_args: {sslmode: require}
storage:
  connection: {type: sqlite, filepath: ./.baselinr/baselinr.db}
  create_tables: false
profiling:
  metrics: [count, null_count, null_ratio, distinct_count, unique_ratio,
            min, max, mean, stddev, histogram, quantiles, top_values,
            min_length, max_length, avg_length, zero_count, sum]
  histogram_bins: 20
  top_values_k: 5
  max_workers: 8
  sampling: {enabled: false, fraction: 0.2, method: bernoulli, seed: 7}
  tables:
    - table: orders
      schema: public
      metrics: [count, mean]
      watermark_column: updated_at
    - name: facts
      schema: analytics
      pattern: "fct_*"
      exclude_patterns: ["*_tmp"]
    - pattern: "^dim_(a|b)$"
      pattern_type: regex
    - schema: staging
      select_schema: true
      partition: {key: event_date, strategy: recent_n, recent_n: 3}
      sampling: {enabled: true, fraction: 0.05}
      columns: {include: ["*"], exclude: [payload]}
      deps: [["dbt", "staging_events"], "dbt/other"]
    - table: events
      partition: {key: day, strategy: specific_values, values: [2024-01-01, 2024-01-02]}
    - table: latest_only
      partition: {key: day, strategy: latest}
drift_detection: {}
hooks: {}
incremental:
  enabled: true
  change_detection:
    metadata_table: baselinr_table_state
    snapshot_ttl_minutes: 1440
    connector_overrides: {postgres: {use_stats: true}}
  partial_profiling:
    enabled: true
    allow_partition_pruning: true
    max_partitions_per_run: 64
    mergeable_metrics: [count, null_count, min, max]
  adaptive_scheduling:
    enabled: true
    default_interval_minutes: 1440
    min_interval_minutes: 60
    max_interval_minutes: 10080
    priority_overrides:
      "analytics.daily_orders": 180
  cost_controls:
    enabled: true
    max_rows_scanned: 100000000
    max_bytes_scanned: 5000000000
    fallback_strategy: sample
    sample_fraction: 0.05
"""

ENV = {"PGUSER": "bob", "PGPASSWORD": SECRET}


def write(tmp_path: Path, text: str, name: str = "baselinr.yml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    return str(info.value)


def test_every_documented_key(tmp_path: Path) -> None:
    import datetime as dt

    path = write(tmp_path, FULL)
    config = load_config(path, env=ENV)
    assert config.path == path.resolve()
    s = config.source
    assert (s.type, s.host, s.port, s.database, s.username, s.schema_) == (
        "postgres",
        "db.internal",
        6543,
        "analytics",
        "bob",
        "public",
    )
    assert s.password is not None and s.password.get_secret_value() == SECRET
    assert SECRET not in repr(config) and SECRET not in str(config.model_dump())
    assert s.connect_args == {"sslmode": "require"}
    assert config.storage.connection.filepath == str(tmp_path / ".baselinr" / "baselinr.db")
    assert config.storage.create_tables is False
    p = config.profiling
    assert (p.histogram_bins, p.top_values_k, p.max_workers) == (20, 5, 8)
    assert len(p.metrics) == 17
    assert (p.sampling.fraction, p.sampling.method, p.sampling.seed) == (0.2, "bernoulli", 7)
    t = p.tables
    assert (t[0].table, t[0].schema_, t[0].metrics, t[0].watermark_column) == (
        "orders",
        "public",
        ["count", "mean"],
        "updated_at",
    )
    assert (t[1].name, t[1].pattern, t[1].exclude_patterns, t[1].selector) == (
        "facts",
        "fct_*",
        ["*_tmp"],
        "fct_*",
    )
    assert t[2].pattern_type == "regex"
    assert t[3].select_schema and t[3].selector == "staging.*"
    assert t[3].partition is not None and t[3].partition.recent_n == 3
    assert t[3].sampling is not None and t[3].sampling.fraction == 0.05
    assert t[3].columns.exclude == ["payload"]
    assert t[3].deps == [["dbt", "staging_events"], ["dbt", "other"]]
    assert t[4].partition is not None
    assert t[4].partition.values == [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]
    assert t[5].partition is not None and t[5].partition.strategy == "latest"
    inc = config.incremental
    assert inc.enabled and inc.change_detection.snapshot_ttl_minutes == 1440
    assert inc.partial_profiling.mergeable_metrics == ["count", "null_count", "min", "max"]
    assert inc.adaptive_scheduling.priority_overrides == {"analytics.daily_orders": 180}
    assert inc.cost_controls.max_bytes_scanned == 5_000_000_000
    assert inc.cost_controls.fallback_strategy == "sample"
    url = build_url(s)
    assert (url.drivername, url.host, url.port, url.password) == (
        "postgresql+psycopg2",
        "db.internal",
        6543,
        SECRET,
    )


def test_defaults(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "source: {type: duckdb, filepath: w.duckdb}\nstorage: {connection: {type: sqlite, filepath: s.db}}\n",
        ),
        env={},
    )
    assert config.environment == "development"
    assert config.profiling.metrics == [
        "count", "null_count", "null_ratio", "distinct_count", "unique_ratio",
        "min", "max", "mean", "stddev", "histogram",
    ]  # fmt: skip
    assert (config.profiling.histogram_bins, config.profiling.max_workers) == (10, 4)
    assert config.storage.create_tables is True and not config.incremental.enabled
    assert config.profiling.tables == []


def test_interpolation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        environment: ${ENV_NAME:-dev}-${REGION}
        source:
          type: postgres
          database: ${DB:-analytics}
          host: "${HOST:-}"
          port: ${PORT:-5432}
          password: "$${LITERAL} and ${PW}"
        storage: {connection: {type: sqlite, filepath: "${DIR:-out}/s.db"}}
        profiling:
          tables: [{table: "${T1}"}, {table: "${T2:-second}"}]
        """,
    )
    config = load_config(path, env={"REGION": "eu", "PW": SECRET, "T1": "first", "DB": "prod"})
    assert config.environment == "dev-eu"
    assert config.source.database == "prod" and config.source.host == ""
    assert config.source.port == 5432
    assert config.source.password is not None
    assert config.source.password.get_secret_value() == f"${{LITERAL}} and {SECRET}"
    assert [t.table for t in config.profiling.tables] == ["first", "second"]
    assert config.storage.connection.filepath == str(tmp_path / "out" / "s.db")


def test_unset_variable_names_file_key_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    message = error_of(path, {"PGUSER": "bob"})
    assert str(path) in message
    assert "source.password" in message and "PGPASSWORD is not set" in message


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    env = {
        **ENV,
        "BASELINR_SOURCE__PASSWORD": "from-env",
        "BASELINR_SOURCE__HOST": "override.internal",
        "BASELINR_PROFILING__MAX_WORKERS": "2",
        "BASELINR_PROFILING__METRICS": "[count, max]",
        "BASELINR_PROFILING__TABLES__0__SCHEMA": "sales",
        "BASELINR_STORAGE__CONNECTION__FILEPATH": "elsewhere/x.db",
        "BASELINR_INCREMENTAL__COST_CONTROLS__ENABLED": "false",
        "BASELINR_CONFIG": "not an override (no __)",
        "OTHER__THING": "ignored",
    }
    config = load_config(path, env=env)
    assert config.source.password is not None
    assert config.source.password.get_secret_value() == "from-env"
    assert config.source.host == "override.internal"
    assert config.profiling.max_workers == 2
    assert config.profiling.metrics == ["count", "max"]
    assert config.profiling.tables[0].schema_ == "sales"
    assert config.storage.connection.filepath == str(tmp_path / "elsewhere" / "x.db")
    assert config.incremental.cost_controls.enabled is False


def test_override_of_a_missing_list_item_is_an_error(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, FULL), {**ENV, "BASELINR_PROFILING__TABLES__9__TABLE": "x"})
    assert "BASELINR_PROFILING__TABLES__9__TABLE" in message and str(tmp_path) in message


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("postgresql+psycopg2://u:p@h:5432/db", "postgres"),
        ("postgresql://u@h/db", "postgres"),
        ("postgres://u@h/db", "postgres"),
        ("sqlite:///relative/warehouse.db", "sqlite"),
        ("duckdb:///w.duckdb", "duckdb"),
    ],
)
def test_source_url_infers_the_type(tmp_path: Path, url: str, kind: str) -> None:
    path = write(
        tmp_path,
        f"source: {{url: '{url}'}}\nstorage: {{connection: {{url: 'sqlite:///s.db'}}}}\n",
    )
    config = load_config(path, env={})
    assert config.source.type == kind
    if kind in ("sqlite", "duckdb"):  # relative file URLs are relative to the config file
        assert str(tmp_path) in build_url(config.source).database  # type: ignore[operator]
    assert build_url(config.storage.connection).database == str(tmp_path / "s.db")
    if kind == "postgres":  # we ship psycopg2; SQLAlchemy 2.1 would pick psycopg 3
        assert build_url(config.source).drivername == "postgresql+psycopg2"


@pytest.mark.parametrize(
    "source",
    [
        "{url: 'snowflake://u:Sn0w-Pa55@account/db'}",
        "{type: snowflake, account: a, database: d, password: Sn0w-Pa55}",
        "{url: 'bigquery://project/dataset'}",
        "{type: bigquery, project: p, dataset: d}",
    ],
)
def test_snowflake_and_bigquery_sources_are_refused_at_load(tmp_path: Path, source: str) -> None:
    """Their change detection is SQL only; profiling them would fail mid-run
    (``NotImplementedError`` in sampling and quantiles), so the config says so first."""
    path = write(
        tmp_path, f"source: {source}\nstorage: {{connection: {{url: 'sqlite:///s.db'}}}}\n"
    )
    message = error_of(path, {})
    assert "source: type '" in message and "not supported as a source yet" in message
    assert "use postgres, sqlite or duckdb" in message and "Sn0w-Pa55" not in message


def test_relative_paths_are_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        "source: {type: sqlite, filepath: ../data/w.db}\n"
        "storage: {connection: {type: sqlite, filepath: ':memory:'}}\n",
        name="conf/baselinr.yml",
    )
    monkeypatch.chdir("/")
    config = load_config(path, env={})
    assert config.source.filepath == str(tmp_path / "data" / "w.db")
    assert config.storage.connection.filepath == ":memory:"


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("storage: {connection: {url: 'sqlite://'}}\n", "source", "required key is missing"),
        (
            "source: {type: sqlite, filepath: w.db}\nstorage: {connection: {url: 'sqlite://'}}\n"
            "profiling: {max_wokers: 3}\n",
            "profiling.max_wokers",
            "unknown key (did you mean 'max_workers'?)",
        ),
        (
            "source: {type: sqlite, filepath: w.db}\nstorage: {connection: {url: 'sqlite://'}}\n"
            "profiling: {tables: [{table: a}, {table: b, pattern_type: glob}]}\n",
            "profiling.tables[1].pattern_type",
            "Input should be 'wildcard' or 'regex'",
        ),
        (
            "source: {type: sqlite, filepath: w.db}\nstorage: {connection: {url: 'sqlite://'}}\n"
            "profiling: {tables: [{table: a, pattern: 'b*'}]}\n",
            "profiling.tables[0]",
            "set exactly one of 'table', 'pattern' or 'select_schema: true' (found table, pattern)",
        ),
        (
            "source: {type: sqlite, filepath: w.db}\nstorage: {connection: {url: 'sqlite://'}}\n"
            "profiling: {metrics: [count, medain]}\n",
            "profiling.metrics",
            "unknown metric(s) medain",
        ),
        (
            "source: {type: mysql, url: 'mysql://u@h/db'}\nstorage: {connection: {url: 'sqlite://'}}\n",
            "source.type",
            "Input should be 'sqlite', 'postgres', 'duckdb', 'snowflake' or 'bigquery'",
        ),
        (
            "source: {url: 'mysql://u@h/db'}\nstorage: {connection: {url: 'sqlite://'}}\n",
            "source",
            "cannot infer the source type from a 'mysql' URL; set 'type'",
        ),
        (
            "source: {type: postgres, database: d, port: 70000}\nstorage: {connection: {url: 'sqlite://'}}\n",
            "source.port",
            "less than or equal to 65535",
        ),
        (
            "source: {type: sqlite}\nstorage: {connection: {url: 'sqlite://'}}\n",
            "source",
            "type 'sqlite' needs 'filepath'",
        ),
        (
            "source: {type: sqlite, filepath: w.db}\nstorage: {connection: {url: 'sqlite://'}}\n"
            "profiling: {tables: [{table: a, partition: {key: d, strategy: recent_n}}]}\n",
            "profiling.tables[0].partition",
            "strategy 'recent_n' needs 'recent_n'",
        ),
        (
            "source: {type: sqlite, filepath: w.db}\nstorage: {connection: {url: 'sqlite://'}}\n"
            "profiling: {tables: [{pattern: '(', pattern_type: regex}]}\n",
            "profiling.tables[0]",
            "'pattern' is not a valid regex",
        ),
        (
            "source: {type: sqlite, filepath: w.db}\nstorage: {connection: {url: 'sqlite://'}}\n"
            "incremental: {adaptive_scheduling: {min_interval_minutes: 100, default_interval_minutes: 10}}\n",
            "incremental.adaptive_scheduling",
            "need min_interval_minutes <= default_interval_minutes <= max_interval_minutes",
        ),
    ],
)
def test_errors_name_file_key_path_and_problem(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert message.startswith(f"invalid config {path}")
    assert f"  - {where}: " in message, message
    assert problem in message, message
    assert "Traceback" not in message and "pydantic" not in message.lower()


@pytest.mark.parametrize(
    "text",
    [
        "source: [unclosed\n",
        "source:\n  type: sqlite\n filepath: bad-indent\n",
        "source:\n\ttype: sqlite\n",
        "key: 'unterminated\n",
        "!!python/object/apply:os.system ['echo hacked']\n",
    ],
)
def test_bad_yaml_names_file_and_position(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert message.startswith(str(path))
    assert "not valid YAML" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("- a\n- b\n", "a list"),
        ("just text\n", "a string"),
        ("42\n", "a number"),
        ("true\n", "a boolean"),
    ],
)
def test_root_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    message = error_of(write(tmp_path, text))
    assert (
        message
        == f"{tmp_path / 'baselinr.yml'}: the top level must be a mapping of keys, not {kind}"
    )


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.yml") == f"config file not found: {tmp_path / 'nope.yml'}"
    (tmp_path / "dir.yml").mkdir()
    assert "cannot read config file" in error_of(tmp_path / "dir.yml")
    (tmp_path / "latin1.yml").write_bytes(b"environment: caf\xe9\n")
    assert "cannot read config file" in error_of(tmp_path / "latin1.yml")


@pytest.mark.parametrize(
    "source",
    [
        f"{{url: 'postgresql://bob:{SECRET}@host:notaport/db'}}",
        f"{{url: 'no url at all {SECRET}'}}",
        f"{{url: 'mysql://bob:{SECRET}@host/db'}}",
        f"{{url: 'postgresql://bob:{SECRET}@host/db', port: abc}}",
        f"{{type: postgres, database: d, password: {SECRET}, port: -1}}",
        f"{{type: postgres, database: d, password: {SECRET}, unknown: 1}}",
        f"{{type: postgres, password: {SECRET}}}",
        f"{{type: postgres, database: d, password: [{SECRET}]}}",
        f"{{type: postgres, database: d, password: {{x: {SECRET}}}}}",
        f"{{type: nosuch, database: d, password: {SECRET}}}",
        f"{SECRET}",
        f"[{SECRET}]",
    ],
)
def test_a_password_never_appears_in_an_error(tmp_path: Path, source: str) -> None:
    path = write(tmp_path, f"source: {source}\nstorage: {{connection: {{url: 'sqlite://'}}}}\n")
    message = error_of(path)
    assert SECRET not in message
    assert "source" in message


def test_credentials_path_is_never_accepted_and_ignored(tmp_path: Path) -> None:
    storage = "storage: {connection: {type: sqlite, filepath: s.db}}"
    bigquery = write(
        tmp_path,
        f"""
        source: {{type: bigquery, project: p, dataset: d, credentials_path: keys/sa.json}}
        {storage}
        """,
    )
    assert "'bigquery' is not supported as a source yet" in error_of(bigquery)
    postgres = write(
        tmp_path,
        f"""
        source: {{type: postgres, database: a, credentials_path: sa.json}}
        {storage}
        """,
        name="pg.yml",
    )
    assert "'credentials_path'" in error_of(postgres) and "bigquery" in error_of(postgres)
