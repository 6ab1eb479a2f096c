"""Shared YAML config plumbing: safe loading (no aliases, no duplicate keys, bounded nesting, size cap), strict
pydantic models (unknown keys, NaN and infinities are errors), shared field types (seeds, alphas, timestamps,
windows, label specs) and readable errors that name the YAML key and suggest the nearest valid choice.

>>> from pydantic import ValidationError
>>> class M(StrictModel):
...     alpha: Alpha = 0.05
...     rows: list[int] = []
>>> try:
...     M.model_validate({"alpah": 0.1})
... except ValidationError as exc:
...     print(describe_validation_error(exc, M))
unknown key 'alpah' (did you mean 'alpha'?); valid keys: ['alpha', 'rows']
>>> try:
...     M.model_validate({"rows": [1, "x"]})
... except ValidationError as exc:
...     print(describe_validation_error(exc, M))
rows[1]: Input should be a valid integer, unable to parse string as an integer
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from pathlib import Path
from typing import Annotated

import pandas as pd
import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationError

from recsys_causal.errors import ConfigError, InputFileError
from recsys_causal.suggest import choices_text, did_you_mean

MAX_YAML_BYTES = 1_000_000
MAX_DEPTH = 50
MAX_WINDOW = pd.Timedelta(days=5 * 366)
MAX_SEED = 2**32 - 1


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys, NaN and infinities."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases (no alias bombs), without arbitrary objects, without duplicate keys and
    with at most ``MAX_DEPTH`` levels of nesting."""

    _depth = 0

    def compose_node(self, parent, index):  # noqa: D401 - yaml hook
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", event.start_mark)
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, f"nesting deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: D401 - yaml hook
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:  # unhashable key: let the base class report it
                    continue
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first.start_mark.line + 1})",
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


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
        raise ConfigError(f"invalid YAML: {_yaml_text(exc)}", source=str(path),
                          fix="check indentation and quoting; every key may appear once per section") from exc
    except (RecursionError, MemoryError) as exc:
        raise ConfigError("invalid YAML: nesting too deep to read", source=str(path),
                          fix=f"keep the config under {MAX_DEPTH} levels of nesting") from exc
    if not isinstance(data, dict):
        raise ConfigError("config must be a mapping of sections", source=str(path), fix=fix_hint)
    return data, path.resolve().parent


def validate_config(model: type[BaseModel], data: dict, *, source: str, fix: str):
    """``model.model_validate(data)`` with every failure (including pathological input) a :class:`ConfigError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, model), source=source, fix=fix) from exc
    except RecursionError as exc:
        raise ConfigError("config is nested too deeply", source=source, fix=fix) from exc


def key_path(loc: tuple) -> str:
    """A pydantic location as a YAML key path: ``('guardrails', 1, 'margin')`` → ``guardrails[1].margin``.

    >>> key_path(("guardrails", 1, "margin"))
    'guardrails[1].margin'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _BRANCH.match(str(part)):
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_BRANCH = re.compile(r"^(?:function-[a-z]+\[.*\]|[a-z-]+\[.*\]|str|int|float|bool|list|dict|literal\[.*\])$")


def describe_validation_error(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One line per problem (at most 5), each naming the YAML key; unknown keys and choices get the nearest
    match."""
    parts = []
    errors = _dedupe_union_errors(exc.errors())
    for err in errors[:5]:
        loc = tuple(err["loc"])
        key = key_path(loc)
        if err["type"] == "extra_forbidden":
            valid = _fields_at(model, loc[:-1]) if model is not None else []
            hint = did_you_mean(loc[-1], valid) + (f"; valid keys: {choices_text(valid)}" if valid else "")
            parts.append(f"unknown key {key!r}{hint}")
        elif err["type"] == "missing":
            parts.append(f"missing key {key!r}")
        elif err["type"] == "literal_error":
            choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            parts.append(f"{key}: {err['input']!r} is not one of {choices}{did_you_mean(err['input'], choices)}")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
            parts.append(f"{key}: {msg}" if loc else msg)
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def _dedupe_union_errors(errors: list[dict]) -> list[dict]:
    """For a ``str | dict`` field pydantic reports one error per branch; keep the first per key."""
    out, seen = [], set()
    for err in errors:
        key = key_path(tuple(err["loc"]))
        if key in seen and err["type"] != "extra_forbidden":
            continue
        seen.add(key)
        out.append(err)
    return out


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a YAML mapping may hold at ``loc`` (field names or aliases of the model found there)."""
    current: object = model
    for part in loc:
        if isinstance(part, int) or _BRANCH.match(str(part)) or not isinstance(current, type) \
                or not issubclass(current, BaseModel):
            continue
        info = current.model_fields.get(str(part)) or next(
            (f for f in current.model_fields.values() if f.alias == part), None)
        if info is None:
            return []
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _model_in(annotation: object) -> object:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _yaml_text(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(exc)


# ----------------------------------------------------------------------------- shared field types


def _timestamp_text(value: object) -> str:
    """An ISO-8601 date-time with a timezone (YAML may hand over a datetime already)."""
    if isinstance(value, dt.datetime):
        ts = pd.Timestamp(value)
    elif isinstance(value, dt.date):
        raise ValueError(f"{value.isoformat()!r} is a date without a time and timezone; write e.g. "
                         f"'{value.isoformat()}T00:00:00Z'")
    elif isinstance(value, str):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            raise ValueError(f"cannot read {value!r} as a date-time; write ISO 8601 with a timezone, e.g. "
                             "'2026-06-20T00:00:00Z'") from None
        if pd.isna(ts):
            raise ValueError(f"{value!r} is not a date-time; write e.g. '2026-06-20T00:00:00Z'")
    else:
        raise ValueError(f"expected a date-time string such as '2026-06-20T00:00:00Z', got {value!r}")
    if ts.tzinfo is None:
        raise ValueError(f"{str(value)!r} has no timezone; add one, e.g. '{ts.isoformat()}Z'")
    return ts.tz_convert("UTC").isoformat()


def _window_length(value: object) -> str:
    """A positive duration of at most five years, such as ``7D``, ``36h`` or ``30min``."""
    text = str(value)
    try:
        window = pd.Timedelta(text)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"cannot read {text!r} as a duration; write e.g. '7D', '36h' or '30min'") from None
    _check_window(window, text)
    return text


def _check_window(window: pd.Timedelta, text: str) -> None:
    if pd.isna(window) or window <= pd.Timedelta(0):
        raise ValueError(f"window {text!r} must be longer than zero")
    if window > MAX_WINDOW:
        raise ValueError(f"window {text!r} is longer than five years; check the unit (e.g. '30m' is 30 minutes)")


def _label_spec(value: str) -> str:
    from recsys_causal.logs.labels import LabelSpec

    try:
        spec = LabelSpec.parse(value)
    except ConfigError as exc:
        raise ValueError(f"{exc.message}; write '<event> within <N><s|m|h|d|w> [as <column>]', "
                         "e.g. 'click within 30m'") from None
    _check_window(spec.window, value)
    return value


def _unique_labels(values: list[str]) -> list[str]:
    from recsys_causal.logs.labels import LabelSpec

    columns = [LabelSpec.parse(v).column for v in values]
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise ValueError(f"label column(s) {dup} are defined more than once; name them apart with 'as <column>'")
    return values


#: A random seed: an integer in [0, 2**32 - 1] (booleans are not seeds).
Seed = Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)]
#: A significance level in (0, 0.5].
Alpha = Annotated[float, Field(gt=0, le=0.5)]
#: An ISO-8601 date-time with a timezone, normalised to UTC.
Timestamp = Annotated[str, BeforeValidator(_timestamp_text)]
#: A positive duration of at most five years (``7D``, ``36h``).
Window = Annotated[str, BeforeValidator(_window_length)]
#: Label specs (``"click within 30m"``), each with a positive window of at most five years.
Labels = Annotated[list[Annotated[str, AfterValidator(_label_spec)]], AfterValidator(_unique_labels)]


def unique_names(items: list, attr: str = "name") -> list:
    """Raise ``ValueError`` naming a repeated ``attr`` among ``items`` (for model validators)."""
    names = [getattr(i, attr) for i in items]
    dup = [n for i, n in enumerate(names) if n in names[:i]]
    if dup:
        first = names.index(dup[0])
        raise ValueError(f"{attr} {dup[0]!r} appears more than once (first at [{first}]); names must be unique")
    return items


def resolve(base: Path, value: str | None, key: str) -> Path | None:
    """A data path relative to the YAML file; missing files and directories are errors naming the key."""
    if value is None:
        return None
    p = (base / value).resolve()
    if not p.exists():
        near = did_you_mean(p.name, [c.name for c in p.parent.iterdir()]) if p.parent.is_dir() else ""
        raise ConfigError(f"{key}: file {value!r} does not exist (resolved to {p}){near}", column=key,
                          fix="paths are relative to the YAML file")
    return p
