"""Rooms that match their contents: analysis code does not import the simulator, and nothing private (a
``_name`` or a ``_module``) is imported from another package. Read from the source (doctests, which may use
the simulator to make example data, are not imports of the module)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import recsys_causal

ROOT = Path(recsys_causal.__file__).parent
#: may import the simulator: the package root re-exports it, the demo runs on the shipped sample it writes
SIMULATOR_USERS = {"__init__.py", "demo.py"}


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, []


def _package(module: str) -> str:
    path = ROOT.parent.joinpath(*module.split("."))
    return module if path.is_dir() else module.rpartition(".")[0]


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        yield path, ".".join(rel.parts[:-1]) if rel.name == "__init__" else ".".join(rel.parts)


def test_analysis_code_does_not_import_the_simulator():
    bad = [f"{path.relative_to(ROOT.parent)}:{line}: {module}" for path, name in _modules()
           if not name.startswith("recsys_causal.simulate") and str(path.relative_to(ROOT)) not in SIMULATOR_USERS
           for line, module, _ in _imports(path) if module.startswith("recsys_causal.simulate")]
    assert bad == []


def test_nothing_private_is_imported_across_packages():
    bad = []
    for path, name in _modules():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for line, module, names in _imports(path):
            if not module.startswith("recsys_causal") or _package(module) == here:
                continue
            private_module = any(p.startswith("_") and not p.startswith("__") for p in module.split("."))
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private_module or private:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line}: from {module} import {private or names}")
    assert bad == []


def test_the_checks_see_a_violation(tmp_path, monkeypatch):
    """The two checks above are not vacuous: a module that breaks both rules is reported."""
    pkg = tmp_path / "recsys_causal"
    (pkg / "gate").mkdir(parents=True)
    (pkg / "gate" / "bad.py").write_text("from recsys_causal.simulate.ab import simulate_ab\n"
                                         "from recsys_causal.ope.evaluate import _private\n")
    (pkg / "ope").mkdir()
    monkeypatch.setattr(sys.modules[__name__], "ROOT", pkg)
    for check in (test_analysis_code_does_not_import_the_simulator, test_nothing_private_is_imported_across_packages):
        try:
            check()
        except AssertionError:
            continue
        raise AssertionError(f"{check.__name__} missed the violation")
