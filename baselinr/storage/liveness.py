"""Whether a ``running`` run is really being profiled.

A process that profiles a table refreshes its run's ``heartbeat_at`` every
``HEARTBEAT_INTERVAL`` (``Heartbeat``) and stamps the run with its ``owner`` (host,
pid namespace, pid). A run is live while its heartbeat is younger than
``STALE_AFTER`` and, when its owner is a process on this machine, that process still
exists. A killed run is therefore recognised within ``STALE_AFTER`` anywhere (the
sensor, ``status``) and at once on the machine that ran it; the next batch marks it
``failed`` (``RunWriter.reap_abandoned``).
"""

import datetime as dt
import os
import socket
import threading
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr.logs import get_logger
from baselinr.storage.schema import runs, utcnow

log = get_logger(__name__)

HEARTBEAT_INTERVAL = dt.timedelta(seconds=15)
STALE_AFTER = dt.timedelta(minutes=2)


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "-"


_HOST = socket.gethostname()[:120]


def process_owner(pid: int | None = None) -> str:
    """``host/pid-namespace/pid`` of this process (a container has its own namespace,
    so a pid is only compared with pids it can see)."""
    return f"{_HOST}/{_pid_namespace()}/{os.getpid() if pid is None else pid}"


def owner_alive(owner: str | None) -> bool | None:
    """Whether the owning process exists: None when that cannot be told from here (no
    owner, another machine or container)."""
    if not owner:
        return None
    host, _, rest = owner.partition("/")
    namespace, _, pid = rest.partition("/")
    if host != _HOST or namespace != _pid_namespace() or namespace == "-" or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return None
    return True


def is_live(
    status: str,
    started_at: dt.datetime,
    heartbeat_at: dt.datetime | None,
    owner: str | None,
    now: dt.datetime | None = None,
) -> bool:
    """A ``running`` run whose heartbeat is fresh and whose process (if it is on this
    machine) still exists."""
    if status != "running":
        return False
    now = now or utcnow()
    if now - (heartbeat_at or started_at) > STALE_AFTER:
        return False
    return owner_alive(owner) is not False


class Heartbeat:
    """Refreshes ``heartbeat_at`` of the runs in progress, in one UPDATE per beat, from
    a daemon thread. A beat that fails (storage briefly down) is logged and retried at
    the next one; it never fails a profile."""

    def __init__(self, engine: Engine, interval: dt.timedelta = HEARTBEAT_INTERVAL) -> None:
        self.engine = engine
        self.interval = interval.total_seconds()
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run_id: str) -> None:
        with self._lock:
            self._runs.add(run_id)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name="baselinr-heartbeat", daemon=True
                )
                self._thread.start()

    def remove(self, run_id: str) -> None:
        with self._lock:
            self._runs.discard(run_id)

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> "Heartbeat":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                active = sorted(self._runs)
            if active:
                self.touch(active)

    def touch(self, run_ids: Iterable[str]) -> None:
        ids = list(run_ids)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    runs.update()
                    .where(runs.c.run_id.in_(ids), runs.c.status == "running")
                    .values(heartbeat_at=utcnow())
                )
        except sa.exc.SQLAlchemyError as exc:
            log.info("heartbeat of %d run(s) not stored: %s", len(ids), type(exc).__name__)
