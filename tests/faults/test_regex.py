"""Catastrophic patterns: ``(a+)+$`` and friends against long table names take
exponential time with a backtracking engine; table patterns are matched by RE2, so
plan and profile finish, and what RE2 cannot do is a config error (exit 2)."""

import fnmatch
import random
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from baselinr.patterns import PatternError, compile_pattern
from tests.faults.conftest import cli, write_config

CATASTROPHIC = [r"(a+)+$", r"(a|aa)+$", r"(a*)*b", r"(.*a){12}", r"((a+)+)+b", r"(a|a?)+$"]
LONG = "a" * 5000 + "!"


def _finishes(fn: object, timeout: float = 30) -> bool:
    thread = threading.Thread(target=fn, daemon=True)  # type: ignore[arg-type]
    thread.start()
    thread.join(timeout)
    return not thread.is_alive()


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_match_in_linear_time(pattern: str) -> None:
    matcher = compile_pattern(pattern, "regex")
    found: list[bool] = []
    assert _finishes(lambda: found.append(matcher.matches(LONG)))
    assert found == [False]
    assert matcher.matches("a" * 40) is (pattern not in (r"(a*)*b", r"((a+)+)+b"))


def test_plan_and_profile_with_catastrophic_patterns(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        for name in ("a" * 60 + "!", "a" * 30, "aab", "zzz"):
            conn.exec_driver_sql(f'CREATE TABLE "{name}" (x integer)')
    engine.dispose()
    config = write_config(
        tmp_path / "b.yml",
        source={"type": "sqlite", "filepath": "w.db"},
        storage={"connection": {"type": "sqlite", "filepath": "s.db"}},
        profiling={
            "tables": [
                {"name": "as", "pattern": r"(a+)+$", "pattern_type": "regex",
                 "exclude_patterns": [r"(a|aa)*c"]},
                {"name": "b", "pattern": r"(a*)*b", "pattern_type": "regex"},
            ]
        },
    )  # fmt: skip
    results: dict[str, object] = {}
    assert _finishes(lambda: results.update(plan=cli("plan", "-c", str(config), "--json")))
    assert _finishes(lambda: results.update(profile=cli("profile", "-c", str(config), "--json")))
    import json

    plan, profile = results["plan"], results["profile"]
    assert plan.exit_code == 0 and profile.exit_code == 0, (plan.output, profile.output)  # type: ignore[attr-defined]
    tables = sorted(d["table"] for d in json.loads(plan.stdout)["decisions"])  # type: ignore[attr-defined]
    assert tables == ["a" * 30, "aab"]


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(a)\1", "invalid escape"),  # backreference
        (r"(?=a)a", "invalid perl operator"),  # lookahead
        (r"(a{1000}){1000}", ""),  # a program too large to build
        (r"([a", "missing ]"),
    ],
)
def test_patterns_re2_cannot_run_are_config_errors(tmp_path: Path, pattern: str, why: str) -> None:
    config = write_config(
        tmp_path / "b.yml",
        source={"type": "sqlite", "filepath": "w.db"},
        storage={"connection": {"type": "sqlite", "filepath": "s.db"}},
        profiling={"tables": [{"pattern": pattern, "pattern_type": "regex"}]},
    )
    result = cli("plan", "-c", str(config))
    assert result.exit_code == 2, result.output
    assert "profiling.tables[0]" in result.output and "is not a valid regex" in result.output
    assert why in result.output and "Traceback" not in result.output
    with pytest.raises(PatternError):
        compile_pattern(pattern, "regex")


def test_wildcards_mean_what_fnmatch_means() -> None:
    rng = random.Random(3)
    alphabet = "ab*?[]!-^\\ .$()|+{}"
    for _ in range(1000):
        pattern = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7)))
        matcher = compile_pattern(pattern, "wildcard")
        for _ in range(4):
            name = "".join(rng.choice("ab[]!-^\\ .$\n") for _ in range(rng.randint(0, 7)))
            assert matcher.matches(name) == fnmatch.fnmatchcase(name, pattern), (pattern, name)
