"""Config fuzzing: many malformed configs, generated from a valid one (wrong types,
missing and unknown keys, bad YAML, odd roots, bad URLs, extreme numbers, unset
variables, broken overrides) plus hypothesis-made documents.

``load_config`` must either return a config or raise ``ConfigError`` — nothing else
— and the CLI must exit 2 with one readable message: no traceback, no password.
"""

import copy
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baselinr.cli import main
from baselinr.config import load_config
from baselinr.errors import ConfigError

SECRET = "pw-Zq8!fuzz"

VALID: dict[str, Any] = {
    "environment": "fuzz",
    "source": {
        "type": "postgres",
        "host": "127.0.0.1",
        "port": 1,
        "database": "analytics",
        "username": "bob",
        "password": SECRET,
        "schema": "public",
    },
    "storage": {"connection": {"type": "sqlite", "filepath": "s.db"}, "create_tables": True},
    "profiling": {
        "metrics": ["count", "mean", "histogram"],
        "histogram_bins": 10,
        "max_workers": 2,
        "sampling": {"enabled": False, "fraction": 0.1},
        "tables": [
            {"table": "orders", "schema": "public"},
            {
                "name": "facts",
                "pattern": "fct_*",
                "exclude_patterns": ["*_tmp"],
                "partition": {"key": "day", "strategy": "recent_n", "recent_n": 2},
                "columns": {"exclude": ["payload"]},
                "deps": [["dbt", "x"]],
            },
        ],
    },
    "incremental": {
        "enabled": True,
        "cost_controls": {"enabled": True, "max_rows_scanned": 1000, "sample_fraction": 0.05},
        "adaptive_scheduling": {"min_interval_minutes": 1, "max_interval_minutes": 10},
    },
}

REPLACEMENTS: list[Any] = [
    None, 0, -1, 10**30, -(10**30), 1.5, math.nan, math.inf, -math.inf, "", "x",
    [], {}, [1, "a"], {"a": 1}, True, "${UNSET_FUZZ_VAR}", "${UNSET_FUZZ_VAR:-7}",
    f"postgresql://bob:{SECRET}@h:bad/db",
]  # fmt: skip

RAW_DOCUMENTS = [
    "",
    "---\n---\n",
    "source: [\n",
    "a: b: c\n",
    "source:\n\ttype: sqlite\n",
    "key: 'unterminated\n",
    "!!python/object/apply:os.system ['echo hacked']\n",
    "- just\n- a list\n",
    "just a string\n",
    "42\n",
    "null\n",
    "&a [*a]\n",
    "? [a, b]\n: c\n",
    "[" * 5000 + "]" * 5000 + "\n",
    "source: {url: " + "x" * 100_000 + "}\n",
    f"source: {{url: 'postgresql://bob:{SECRET}@host:port/db'}}\nstorage: {{}}\n",
    f"source: {{url: '{SECRET}'}}\nstorage: {{connection: {{url: 'sqlite://'}}}}\n",
    f"source:\n  type: postgres\n  password: {SECRET}\n  password: again\n",
    "environment: 2024-01-01\nsource: {type: sqlite, filepath: w}\nstorage: {connection: {type: sqlite, filepath: s}}\n",
    "\ufeffsource: {type: sqlite}\n",
    "a: &x {b: *x}\n",
    "x: [&a1 [1], &a2 [*a1, *a1], &a3 [*a2, *a2], &a4 [*a3, *a3], &a5 [*a4, *a4], &a6 [*a5, *a5]]\n",
    # "billion laughs": 2**40 values from a 1 KB file
    "a0: &a0 [x, x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 40)),
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def mutations() -> Iterator[tuple[str, str]]:
    """(id, YAML text) of every generated malformed config."""
    paths = list(_paths(VALID))
    for path in paths:
        name = ".".join(map(str, path))
        for k, value in enumerate(REPLACEMENTS):
            yield f"{name}={k}", yaml.safe_dump(_set(VALID, path, value))
        yield f"{name}-deleted", yaml.safe_dump(_set(VALID, path, None, delete=True))
    for path in [(), *paths]:
        node: Any = VALID
        for part in path:
            node = node[part]
        if isinstance(node, dict):
            extra = {**node, "unknwon_key": 1}
            doc = _set(VALID, path, extra) if path else extra
            yield f"{'.'.join(map(str, path)) or 'root'}+unknown", yaml.safe_dump(doc)
    for k, text in enumerate(RAW_DOCUMENTS):
        yield f"raw{k}", text
    for k, root in enumerate([[VALID], "text", 3, 3.5, True, None, [None]]):
        yield f"root{k}", yaml.safe_dump(root)


CASES = list(mutations())


def check_loader(path: Path, env: dict[str, str] | None = None) -> str | None:
    """None when the config is valid, else the ConfigError message (checked)."""
    try:
        load_config(path, env=env or {})
    except ConfigError as exc:
        message = str(exc)
        assert message.strip(), "empty message"
        assert SECRET not in message
        assert "Traceback" not in message
        assert str(path) in message
        return message
    return None


def test_many_generated_configs_give_config_errors(tmp_path: Path) -> None:
    assert len(CASES) > 700
    failures = []
    invalid = 0
    for case_id, text in CASES:
        path = tmp_path / "baselinr.yml"
        path.write_text(text)
        try:
            if check_loader(path) is not None:
                invalid += 1
        except AssertionError as exc:
            failures.append(f"{case_id}: {exc}")
        except Exception as exc:  # anything but ConfigError is a bug
            failures.append(f"{case_id}: {type(exc).__name__}: {exc}"[:300])
    assert not failures, "\n".join(failures)
    assert invalid > 0.7 * len(CASES)  # most mutations really are invalid


def test_non_utf8_and_binary_files(tmp_path: Path) -> None:
    for k, data in enumerate([b"\xff\xfe\x00s\x00", b"source: \x80\x81\n", bytes(range(256))]):
        path = tmp_path / f"bin{k}.yml"
        path.write_bytes(data)
        assert check_loader(path) is not None


@pytest.mark.parametrize(
    "env",
    [
        {"BASELINR_PROFILING__TABLES__9__TABLE": "x"},
        {"BASELINR_SOURCE__PORT": "abc"},
        {"BASELINR_PROFILING__METRICS": "[unclosed"},
        {"BASELINR_SOURCE__HOST__NESTED": "x"},
        {"BASELINR_ENVIRONMENT__X": "y"},
        {"BASELINR_PROFILING__TABLES__X__TABLE": "a"},
        {"BASELINR_SOURCE__URL": f"postgresql://u:{SECRET}@h:nope/db"},
        {"BASELINR_NOPE__KEY": "1"},
    ],
)
def test_broken_overrides_are_config_errors(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "baselinr.yml"
    path.write_text(yaml.safe_dump(VALID))
    assert check_loader(path, env) is not None


def _cli(path: Path) -> Any:
    return CliRunner().invoke(main, ["profile", "-c", str(path)], env={"COLUMNS": "60"})


def test_the_cli_exits_2_with_one_message(tmp_path: Path) -> None:
    """Every invalid generated config through `baselinr profile`: exit 2, a message
    starting with 'error:', no traceback, no password."""
    checked = 0
    problems = []
    for case_id, text in CASES[::3]:
        path = tmp_path / "baselinr.yml"
        path.write_text(text)
        if check_loader(path) is None:
            continue
        result = _cli(path)
        output = result.output
        checked += 1
        if (
            result.exit_code != 2
            or not output.startswith("error: ")
            or output.count("error:") != 1
            or "Traceback" in output
            or SECRET in output
            or not isinstance(result.exception, SystemExit)
        ):
            problems.append(f"{case_id}: exit {result.exit_code}: {output[:300]!r}")
    assert not problems, "\n".join(problems)
    assert checked > 150


def test_cli_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "baselinr.yml"
    path.write_text(f"source: {{url: 'postgresql://bob:{SECRET}@h:x/db'}}\n")
    done = subprocess.run(
        [sys.executable, "-m", "baselinr.cli", "tables", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: invalid config {path}:")
    assert "Traceback" not in done.stderr and SECRET not in done.stderr


# --- hypothesis: arbitrary YAML-able documents -----------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["postgres", "sqlite", "${X}", "${Y:-1}", "$$", "*", "fct_*", SECRET]),
)
keys = st.one_of(
    st.sampled_from(
        ["source", "storage", "profiling", "tables", "table", "type", "url", "connection",
         "metrics", "partition", "strategy", "sampling", "incremental", "password", "port",
         "filepath", "pattern", "schema", "select_schema", "environment"]
    ),
    st.text(max_size=6),
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=documents, section=st.sampled_from(["root", "source", "profiling", "storage"]))
def test_arbitrary_documents(tmp_path: Path, doc: Any, section: str) -> None:
    if section != "root":
        doc = {**VALID, section: doc}
    path = tmp_path / "hyp.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    check_loader(path, env={"X": "x"})
