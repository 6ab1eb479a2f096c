"""`import recsys_causal` loads no numerical library; every public name resolves on first use to the object its
module defines; an unknown name is an AttributeError."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import recsys_causal

HEAVY = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "sklearn", "econml", "duckdb", "pyarrow")


def test_importing_the_package_loads_no_numerical_library():
    code = ("import sys, recsys_causal; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_every_public_name_is_the_object_of_its_module():
    for name in recsys_causal.__all__:
        module = recsys_causal._LAZY.get(name)
        value = getattr(recsys_causal, name)
        if module is not None:
            assert value is getattr(importlib.import_module(module), name), name
    assert set(recsys_causal.__all__) <= set(dir(recsys_causal))


def test_subpackages_are_attributes_and_unknown_names_are_errors():
    assert recsys_causal.ope.evaluate_policies is recsys_causal.evaluate_policies
    with pytest.raises(AttributeError, match="no attribute 'analyse_ab'"):
        recsys_causal.analyse_ab  # noqa: B018
