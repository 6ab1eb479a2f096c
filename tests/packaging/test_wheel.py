"""The wheel ships what the package reads at run time and what its metadata promises.

The wheel is built from a copy of the sources (so the checkout gets no ``build/`` or ``*.egg-info``) with pip's
isolated build, i.e. the ``[build-system]`` of ``pyproject.toml``; then it is unpacked like an install and the
schemas are loaded from there in a fresh interpreter. Takes a few seconds; the build backend comes from the
package index (or pip's cache) as for any ``pip install .``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# MD5 of the Apache License 2.0 as published at https://www.apache.org/licenses/LICENSE-2.0.txt
APACHE_2_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"


def test_license_file_is_the_apache_2_text_that_pyproject_declares():
    assert PYPROJECT["license"] == "Apache-2.0" and PYPROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.md5(text).hexdigest() == APACHE_2_MD5
    assert b"Apache License\n                           Version 2.0, January 2004" in text


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "recsys_causal", src / "recsys_causal",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (built,) = out.glob("recsys_causal-*.whl")
    return built


def test_wheel_contains_types_license_schemas_and_templates(wheel):
    version = PYPROJECT["version"]
    assert wheel.name == f"recsys_causal-{version}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    dist_info = f"recsys_causal-{version}.dist-info"
    assert {"recsys_causal/py.typed", "recsys_causal/schemas/report.schema.json",
            "recsys_causal/schemas/gate.schema.json", f"{dist_info}/licenses/LICENSE"} <= names
    data_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "recsys_causal").rglob("*")
                  if p.is_file() and p.suffix in (".j2", ".html", ".json", ".typed")}
    assert any(f.endswith(".html.j2") for f in data_files) and data_files <= names, sorted(data_files - names)
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "recsys_causal").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    assert not any(n.startswith(("tests/", "reports/", "decision_logs/")) for n in names)
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(f"{dist_info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        meta = zf.read(f"{dist_info}/METADATA").decode()
        scripts = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert "License-Expression: Apache-2.0" in meta and "License-File: LICENSE" in meta
    assert "causal-gate = recsys_causal.gate.cli:main" in scripts
    assert "causal-report = recsys_causal.report.cli:main" in scripts


def test_schemas_load_from_the_unpacked_wheel(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import json, recsys_causal.schemas as s; print(s.__file__); "
            "print(json.dumps({n: s.load_schema(n) for n in ('report', 'gate')}))")
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    where, schemas = proc.stdout.splitlines()
    assert Path(where).is_relative_to(site)
    assert json.loads(schemas) == {n: json.loads((ROOT / "recsys_causal" / "schemas" / f"{n}.schema.json").read_text())
                                   for n in ("report", "gate")}
