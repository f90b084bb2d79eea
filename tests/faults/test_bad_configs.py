"""Hostile config files: YAML bombs (aliases that expand exponentially, nesting),
NUL characters, bytes that are not UTF-8 — one config error (exit 2) each, within a
bounded time and memory, also under ``--debug`` (which shows the traceback and keeps
the exit code) and when Dagster loads the code location."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from baselinr.errors import ConfigError
from tests.faults.conftest import cli

BASE = "source: {type: sqlite, filepath: w.db}\nstorage: {connection: {type: sqlite, filepath: s.db}}\n"


def _laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, levels):
        refs = ",".join([f"*a{k - 1}"] * 9)
        lines.append(f"a{k}: &a{k} [{refs}]")
    return BASE + "\n".join(lines) + f"\nenvironment: *a{levels - 1}\n"


BAD = {
    "billion_laughs": (_laughs(), "YAML aliases expanding"),
    "deep_nesting": (BASE + "environment: " + "[" * 50000 + "]" * 50000 + "\n", ""),
    "nul_in_value": (BASE + 'profiling: {tables: [{table: "ord\\0ers"}]}\n', "NUL"),
    "nul_in_key": (BASE + 'hooks: {"en\\0abled": true}\n', "NUL"),
    "nul_in_source": ('source: {type: sqlite, filepath: "w\\0.db"}\n' + BASE.split("\n")[1], "NUL"),
}


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("name", list(BAD))
@pytest.mark.parametrize("debug", [False, True])
def test_hostile_configs_are_config_errors(tmp_path: Path, name: str, debug: bool) -> None:
    text, why = BAD[name]
    path = _write(tmp_path, name, text)
    started = time.monotonic()
    result = cli(*(["--debug"] if debug else []), "plan", "-c", str(path))
    assert time.monotonic() - started < 30
    assert result.exit_code == 2, result.output
    assert "error: " in result.output and why in result.output
    assert ("Traceback" in result.output) is debug
    assert not (tmp_path / "s.db").exists()  # nothing was created


def test_debug_keeps_every_exit_code(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    assert cli("--debug", "plan", "-c", str(missing)).exit_code == 2
    path = _write(tmp_path, "b", BASE + "profiling: {tables: [{table: orders}]}\n")
    # the warehouse file does not exist: a config error, with and without --debug
    assert (
        cli("plan", "-c", str(path)).exit_code == cli("--debug", "plan", "-c", str(path)).exit_code
    )


def test_a_config_that_is_not_utf8(tmp_path: Path) -> None:
    path = _write(tmp_path, "latin1", (BASE + "environment: caf\xe9\n").encode("latin-1"))
    result = cli("plan", "-c", str(path))
    assert result.exit_code == 2 and "not UTF-8 text (byte 0xe9" in result.output
    with pytest.raises(ConfigError, match="not UTF-8"):
        from baselinr_dagster import build_baselinr_definitions

        build_baselinr_definitions(str(path))


def test_a_bomb_as_a_real_process_exits_2_quickly(tmp_path: Path) -> None:
    path = _write(tmp_path, "bomb", _laughs(10))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "baselinr.cli", "plan", "-c", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and time.monotonic() - started < 60
