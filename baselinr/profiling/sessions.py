"""Warehouse sessions of a run, and the statements of one profile that run side by side.

A run may hold at most ``profiling.max_workers`` warehouse sessions at once. Each table
being profiled holds one; a profile borrows the spare ones (never waiting for them) to
run statements that do not depend on each other at the same time, so that its wall time
tends to its slowest statement rather than the sum. With every session busy (as many
tables in flight as workers) the statements simply run one after the other on the
table's own connection.
"""

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

Rows = list[dict[str, Any]]


class SessionBudget:
    """At most ``limit`` warehouse sessions at once, across the threads of a run."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = limit
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    @contextmanager
    def held(self) -> Iterator[None]:
        """One session for the calling thread (waits for one to be free)."""
        with self._changed:
            while self._free == 0:
                self._changed.wait()
            self._free -= 1
        try:
            yield
        finally:
            self.give_back()

    def borrow(self) -> bool:
        """One more session if one is free right now."""
        with self._lock:
            if self._free == 0:
                return False
            self._free -= 1
            return True

    def give_back(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify()

    @property
    def free(self) -> int:
        with self._lock:
            return self._free


class Pending:
    """Statements running on a borrowed session; ``result()`` waits for their rows."""

    def __init__(self, work: Callable[[], list[Rows]]) -> None:
        self._rows: list[Rows] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], list[Rows]]) -> None:
        try:
            self._rows = work()
        except BaseException as exc:  # carried to the caller of result()
            self._error = exc

    def result(self) -> list[Rows]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._rows

    def wait(self) -> None:
        self._thread.join()


class Statements:
    """Runs one profile's statements and counts them: on the profile's connection, or
    (``fork``) on a borrowed pooled connection of the same engine, side by side."""

    def __init__(self, conn: Connection, budget: SessionBudget | None = None) -> None:
        self.conn = conn
        self.budget = budget
        self.count = 0
        self._pending: list[Pending] = []
        self._lock = threading.Lock()

    def rows(self, stmt: Any) -> Rows:
        self._counted(1)
        return [dict(r) for r in self.conn.execute(stmt).mappings()]

    def fork(self, stmts: Sequence[Any]) -> Pending | None:
        """Start ``stmts`` (one after the other) on a spare session, or None when
        there is none (the caller runs them itself, later)."""
        if not stmts or self.budget is None or not self.budget.borrow():
            return None
        self._counted(len(stmts))
        engine, budget = self.conn.engine, self.budget

        def work() -> list[Rows]:
            try:
                with engine.connect() as other:
                    return [[dict(r) for r in other.execute(s).mappings()] for s in stmts]
            finally:
                budget.give_back()

        pending = Pending(work)
        self._pending.append(pending)
        return pending

    def spare(self) -> int:
        """Sessions free right now for ``fork`` (0 without a budget)."""
        return self.budget.free if self.budget is not None else 0

    def fork_each(self, stmts: Sequence[Any]) -> "list[Part] | None":
        """Each statement on a spare session of its own where one is free (the others
        run on this connection when their rows are asked for); None when none could
        start, so that the caller can run them its own way."""
        parts = [Part(self, stmt, self.fork([stmt])) for stmt in stmts]
        if not any(part.pending for part in parts):
            return None
        return parts

    def settle(self) -> None:
        """Wait for every forked statement (their sessions are given back)."""
        for pending in self._pending:
            pending.wait()

    def _counted(self, n: int) -> None:
        with self._lock:
            self.count += n


class Part:
    """One statement of ``Statements.fork_each``: forked, or run here when asked."""

    def __init__(self, statements: Statements, stmt: Any, pending: Pending | None) -> None:
        self.statements = statements
        self.stmt = stmt
        self.pending = pending

    def rows(self) -> Rows:
        if self.pending is not None:
            return self.pending.result()[0]
        return self.statements.rows(self.stmt)
