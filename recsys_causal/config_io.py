"""Shared YAML config plumbing: safe loading (no aliases, size cap), strict pydantic models, readable errors.

>>> from pydantic import ValidationError
>>> class M(StrictModel):
...     a: int
>>> try:
...     M.model_validate({"a": 1, "b": 2})
... except ValidationError as exc:
...     print(describe_validation_error(exc))
unknown key 'b'
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from recsys_causal.errors import ConfigError, InputFileError

MAX_YAML_BYTES = 1_000_000


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases (no alias bombs) and without arbitrary objects."""

    def compose_node(self, parent, index):  # noqa: D401 - yaml hook
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def load_yaml_mapping(path: str | Path, *, fix_hint: str) -> tuple[dict, Path]:
    """Read a YAML mapping safely (no aliases, at most 1 MB, UTF-8); returns it and the file's directory."""
    path = Path(path)
    if not path.exists():
        raise InputFileError("config file does not exist", source=str(path), fix="check the path")
    if path.is_dir():
        raise InputFileError("config path is a directory", source=str(path), fix="give the YAML file")
    raw = path.read_bytes()
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(f"config is larger than {MAX_YAML_BYTES} bytes", source=str(path))
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise ConfigError("config is not valid UTF-8", source=str(path), fix="save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=str(path), fix="check indentation and quoting") from exc
    if not isinstance(data, dict):
        raise ConfigError("config must be a mapping of sections", source=str(path), fix=fix_hint)
    return data, path.resolve().parent


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        key = ".".join(str(x) for x in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {key!r}")
        elif err["type"] == "missing":
            parts.append(f"missing key {key!r}")
        else:
            parts.append(f"{key}: {err['msg']}")
    more = f" (+{len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return "; ".join(parts) + more


def resolve(base: Path, value: str | None, key: str) -> Path | None:
    """A data path relative to the YAML file; missing files and directories are errors naming the key."""
    if value is None:
        return None
    p = (base / value).resolve()
    if not p.exists():
        raise ConfigError(f"{key}: file {value!r} does not exist (resolved to {p})", column=key,
                          fix="paths are relative to the YAML file")
    return p
