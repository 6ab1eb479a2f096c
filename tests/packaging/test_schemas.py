"""The JSON Schemas ship as package data, load through ``importlib.resources`` and describe the real outputs."""

from __future__ import annotations

import copy
import json
from importlib import resources

import jsonschema
import pytest

from recsys_causal.errors import ConfigError
from recsys_causal.report import build_report
from recsys_causal.schemas import SCHEMA_NAMES, load_schema, schema_text


@pytest.mark.parametrize("name", ["report", "gate"])
def test_load_schema_returns_a_valid_2020_12_schema(name):
    schema = load_schema(name)
    assert isinstance(schema, dict) and schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "schema_version" in schema["required"]
    resource = resources.files("recsys_causal.schemas") / f"{name}.schema.json"
    assert resource.is_file() and json.loads(resource.read_text(encoding="utf-8")) == schema == json.loads(
        schema_text(name))


def test_unknown_schema_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match=r"unknown schema 'html'.*\['gate', 'report'\]"):
        load_schema("html")
    assert SCHEMA_NAMES == {"report", "gate"}


def test_example_report_json_validates_and_a_broken_one_does_not(project):
    _, json_path, _ = build_report(project / "reports" / "examples" / "ab.yaml")
    data = json.loads(json_path.read_text())
    schema = load_schema("report")
    jsonschema.validate(data, schema)
    for broken in ({k: v for k, v in data.items() if k != "decision"}, {**data, "schema_version": 2}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    bad_estimate = copy.deepcopy(data)
    bad_estimate["metrics"][0]["value"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_estimate, schema)
