"""Property-based fuzzing: whatever bytes or YAML the readers and config loaders get, only the documented error
types (RecsysCausalError subclasses) escape."""

import string

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys_causal import RecsysCausalError, read_decision_log
from recsys_causal.gate import load_gate_config
from recsys_causal.report import load_config

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COLUMNS = ["request_id", "decision_time", "item_id", "shown", "position", "propensity", "click", "user_id"]
cell = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(alphabet=string.printable, max_size=12),
                 st.sampled_from(["2026-06-01T10:00:00Z", "2026-06-01", "r1", "r2", "a", "b", "true", "0"]))


def _reads(path, **kw):
    try:
        read_decision_log(path, **kw)
    except RecsysCausalError:
        pass


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([".csv", ".jsonl", ".parquet"]))
def test_arbitrary_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"log{suffix}"
    path.write_bytes(data)
    _reads(path)


@FUZZ
@given(st.lists(st.fixed_dictionaries({c: cell for c in COLUMNS}), min_size=0, max_size=8),
       st.lists(st.sampled_from(COLUMNS), max_size=3), st.booleans())
def test_arbitrary_tables(tmp_path_factory, rows, drop, require):
    frame = pd.DataFrame(rows, columns=COLUMNS).drop(columns=sorted(set(drop)))
    path = tmp_path_factory.mktemp("fuzz") / "log.csv"
    frame.to_csv(path, index=False)
    _reads(path, require_propensity=require)
    try:
        read_decision_log(frame, require_propensity=require)
    except RecsysCausalError:
        pass


yaml_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
yaml_value = st.recursive(yaml_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                              st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.dictionaries(
    st.sampled_from(["experiment", "data", "metrics", "name", "log", "candidates", "primary", "alpha", "x"]),
    yaml_value, max_size=5)))
def test_arbitrary_configs(tmp_path_factory, content):
    import yaml

    path = tmp_path_factory.mktemp("fuzz") / "c.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(yaml.safe_dump(content))
    for loader in (load_config, load_gate_config):
        try:
            loader(path)
        except RecsysCausalError:
            pass
