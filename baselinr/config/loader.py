"""Read ``baselinr.yml``: YAML, ``${VAR}`` interpolation, ``BASELINR_*`` overrides,
relative paths, validation — and one readable ``ConfigError`` when anything is wrong.
"""

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from baselinr.config.models import BaselinrConfig
from baselinr.errors import ConfigError
from baselinr.redact import redact, register_secrets, url_secrets

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_OVERRIDE_PREFIX = "BASELINR_"
# libyaml's safe loader when PyYAML has it (~10x faster on configs with thousands of
# tables), the pure-Python one otherwise; both build only plain Python values.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
M = TypeVar("M", bound=BaseModel)


def load_config(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> BaselinrConfig:
    """Load and validate a config file. Raises ``ConfigError`` with a readable message."""
    env = os.environ if env is None else env
    file = Path(path).expanduser()
    return parse_config(_read(file), file, env)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read config file {file}: not UTF-8 text "
            f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError(f"cannot read config file {file}: {exc}") from None


def load_without_secrets(path: str | os.PathLike[str], model: type[M]) -> M:
    """Part of a config, validated as ``model`` (which ignores the other keys), for code
    that must work without credentials (e.g. loading a Dagster code location): a
    missing ``${VAR}`` becomes an empty string here, so a process without warehouse
    secrets still loads; runs use ``load_config`` and fail clearly if it is unset."""
    file = Path(path).expanduser()
    return parse_config(_read(file), file, _Lenient(os.environ), model=model)


class _Lenient(dict[str, str]):
    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return ""


def parse_config(
    text: str,
    file: Path,
    env: Mapping[str, str],
    *,
    model: type[M] = BaselinrConfig,  # type: ignore[assignment]
) -> M:
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{file}{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{file}: YAML nested too deeply") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of keys, not {_kind(raw)}")
    data: Any = raw
    try:
        data = _interpolate(raw, env, ())
        _apply_overrides(data, env)
        _no_nul(data, ())
        _resolve_paths(data, file.resolve().parent)
        config = model.model_validate(data)
    except ConfigError as exc:
        message = f"invalid config {file}: {exc}"
    except ValidationError as exc:
        message = f"invalid config {file}:\n{format_validation_error(exc)}"
    except (TypeError, ValueError, RecursionError) as exc:
        message = f"invalid config {file}: {exc}"
    else:
        if isinstance(config, BaselinrConfig):
            config._path = file.resolve()
        register_secrets(_found_secrets([raw, data]))
        return config
    raise ConfigError(_redact(message, [raw, data])) from None


# --- never a password in a message ---------------------------------------------------------

# keys whose string values are secrets wherever they appear (connection fields,
# connect_args, webhook headers)
_SECRET_KEY = re.compile(
    r"(?:.*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credential|authorization|cookie).*)",
    re.IGNORECASE,
)


def _secrets(node: Any, found: set[str], seen: set[int], depth: int = 0) -> None:
    if depth > 50 or id(node) in seen:  # aliases: each container once
        return
    if isinstance(node, dict):
        seen.add(id(node))
        for key, value in node.items():
            if isinstance(value, str):
                if _SECRET_KEY.fullmatch(str(key)) and not str(key).endswith("_path"):
                    found.add(value)
                found.update(_text_secrets(value))
            elif isinstance(value, dict) and str(key).lower() == "headers":
                found.update(v for v in value.values() if isinstance(v, str))
            _secrets(value, found, seen, depth + 1)
    elif isinstance(node, list):
        seen.add(id(node))
        for value in node:
            if isinstance(value, str):
                found.update(_text_secrets(value))
            _secrets(value, found, seen, depth + 1)


def _text_secrets(value: str) -> set[str]:
    """Credentials inside a value that holds a URL (``url:``, a URL pasted into
    ``host:``, a webhook URL with ``user:pass@``)."""
    return url_secrets(value) if "://" in value else set()


def _found_secrets(documents: list[Any]) -> set[str]:
    """The secrets in config documents: values of credential keys and header values,
    and the credentials of every URL."""
    found: set[str] = set()
    seen: set[int] = set()
    for document in documents:
        _secrets(document, found, seen)
    return found


def _redact(message: str, documents: list[Any]) -> str:
    """Whatever a validator echoes (a bad value, a URL, an unknown name), the secrets
    of the document become *** (masked here only: a config that failed to load
    registers nothing for the rest of the process)."""
    for secret in sorted(_found_secrets(documents), key=len, reverse=True):
        if len(secret) >= 3:
            message = message.replace(secret, "***")
    return redact(message)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"


def dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


# --- ${VAR} -------------------------------------------------------------------------


# YAML aliases can make a small file expand exponentially ("billion laughs").
MAX_VALUES = 1_000_000


def _interpolate(
    value: Any, env: Mapping[str, str], loc: tuple[Any, ...], budget: list[int] | None = None
) -> Any:
    budget = [MAX_VALUES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise ConfigError(f"more than {MAX_VALUES:,} values (YAML aliases expanding?)")
    if isinstance(value, dict):
        return {k: _interpolate(v, env, (*loc, k), budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, (*loc, i), budget) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{dotted(loc)}: environment variable {name} is not set")

    return _VAR.sub(substitute, value)


def _no_nul(value: Any, loc: tuple[Any, ...]) -> None:
    """NUL cannot reach a driver, a file name or an identifier: refuse it here, with
    the key that holds it."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ConfigError(f"{dotted(loc)}: contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                raise ConfigError(f"{dotted(loc)}: a key contains a NUL character")
            _no_nul(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_nul(item, (*loc, i))


# --- BASELINR_SECTION__KEY ------------------------------------------------------------


def _apply_overrides(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for name in sorted(env):
        if not name.startswith(_OVERRIDE_PREFIX) or "__" not in name:
            continue
        path = [p.lower() for p in name[len(_OVERRIDE_PREFIX) :].split("__")]
        if not all(path):
            continue
        _set_path(data, path, _override_value(env[name]), name)


def _override_value(text: str) -> Any:
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return yaml.safe_load(stripped)
        except yaml.YAMLError:
            return text
    return text


def _set_path(data: Any, path: list[str], value: Any, name: str) -> None:
    node = data
    for i, key in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ConfigError(f"{name}: no list item '{key}' at {'.'.join(path[:i])}")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"{name}: '{'.'.join(path[:i])}' is not a mapping")
        if last:
            node[key] = value
        else:
            node = node.setdefault(key, {})


# --- relative paths -------------------------------------------------------------------


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """File paths in the config are relative to the config file, not the cwd."""
    storage = data.get("storage")
    for section in (
        data.get("source"),
        storage.get("connection") if isinstance(storage, dict) else None,
    ):
        if not isinstance(section, dict):
            continue
        filepath = section.get("filepath")
        if isinstance(filepath, str) and filepath and filepath != ":memory:":
            section["filepath"] = str((base / Path(filepath).expanduser()).resolve())
        url = section.get("url")
        if isinstance(url, str):
            match = re.match(r"^((?:sqlite|duckdb)[^:]*:///)(?!/)(.+)$", url)
            if match and match.group(2) != ":memory:":
                section["url"] = match.group(1) + str((base / match.group(2)).resolve())


# --- readable validation errors --------------------------------------------------------


def format_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        msg = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if error["type"] == "extra_forbidden":
            known = _known_keys(BaselinrConfig, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = "unknown key" + (f" (did you mean '{close[0]}'?)" if close else "")
        elif error["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"  - {dotted(loc)}: {msg}")
    return "\n".join(lines)


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside ``X | None`` or ``list[X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
