"""The JSON Schemas (2020-12) of the two command-line outputs, shipped with the package.

``report`` describes the JSON written by ``causal-report`` (:func:`recsys_causal.report.build_report`),
``gate`` the JSON written by ``causal-gate`` (:meth:`recsys_causal.gate.GateResult.to_json`). Both carry
``schema_version``; fields are only ever added within a version. The files are package data
(``recsys_causal/schemas/<name>.schema.json``), so they are read through :mod:`importlib.resources` and work
from a wheel, a zip or a source checkout alike.

>>> schema = load_schema("gate")
>>> schema["$schema"], "schema_version" in schema["required"]
('https://json-schema.org/draft/2020-12/schema', True)
>>> sorted(SCHEMA_NAMES)
['gate', 'report']
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from recsys_causal.errors import ConfigError

__all__ = ["SCHEMA_NAMES", "load_schema", "schema_text"]

SCHEMA_NAMES = frozenset({"report", "gate"})


def schema_text(name: str) -> str:
    """The schema file ``<name>.schema.json`` as text (``name`` is ``"report"`` or ``"gate"``)."""
    if name not in SCHEMA_NAMES:
        raise ConfigError(f"unknown schema {name!r}; the package ships {sorted(SCHEMA_NAMES)}",
                          fix="ask for 'report' (causal-report JSON) or 'gate' (causal-gate JSON)")
    return resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of the ``report`` or ``gate`` JSON output, as a dict (ready for ``jsonschema.validate``)."""
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema
