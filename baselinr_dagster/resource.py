"""``BaselinrResource``: the parsed config and engines, cached once per process."""

import threading
from pathlib import Path

import dagster as dg

from baselinr.config import BaselinrConfig, load_config
from baselinr.context import BaselinrContext
from baselinr.runner import ProfileRunner

_cache: dict[str, tuple[float, BaselinrContext]] = {}
_cache_lock = threading.Lock()


def shared_context(config_path: str) -> BaselinrContext:
    """One ``BaselinrContext`` per config file per process (engines, storage, bus).

    A changed file (by mtime) is re-read; environment variables are read once, so
    restart the process when secrets change.
    """
    path = str(Path(config_path).resolve())
    mtime = Path(path).stat().st_mtime if Path(path).exists() else 0.0
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        context = BaselinrContext(load_config(path))
        if cached is not None:
            cached[1].close()
        _cache[path] = (mtime, context)
        return context


def clear_cache() -> None:
    with _cache_lock:
        for _, context in _cache.values():
            context.close()
        _cache.clear()


class BaselinrResource(dg.ConfigurableResource):
    """Gives assets the Baselinr config, runner and storage for ``config_path``."""

    config_path: str

    @property
    def context(self) -> BaselinrContext:
        return shared_context(self.config_path)

    @property
    def config(self) -> BaselinrConfig:
        return self.context.config

    def runner(self) -> ProfileRunner:
        return ProfileRunner(self.config, self.context)
