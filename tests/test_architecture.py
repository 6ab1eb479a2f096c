"""The shape of the package (ARCHITECTURE.md): layers, sizes and repeated code (the rooms, i.e. no simulator in
analysis code and no private cross-package import, are checked in tests/core/test_rooms.py).

Read from the source with ``ast``, so the rules hold for imports inside functions too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recsys_causal"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MIN_REPEATED_LINES = 6

#: Layer of each top-level module or package; a module may import only from its own layer or lower ones.
LAYERS = {
    0: {"errors", "suggest", "textsafe", "deprecation", "output_paths", "output_commit", "outputs", "io_utils",
        "cli_errors", "plackett_luce", "checks", "estimate", "results", "kernel", "moments", "inference", "contrast",
        "pvalues", "plotting", "schemas", "version", "caveats", "progress", "cli_logging", "threads"},
    1: {"logs"},
    2: {"ope", "experiments", "switchback", "incrementality", "hte", "scale", "simulate"},
    3: {"gate", "config_io"},
    4: {"report"},
    5: {"demo", ""},
}
LAYERS[0] |= {"frames", "display"}  # table conversion and display formatting
LAYER_OF = {name: layer for layer, names in LAYERS.items() for name in names}


def modules() -> list[tuple[str, Path, ast.Module]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out.append((name, path, ast.parse(path.read_text())))
    return out


MODULES = modules()


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def package_imports(tree: ast.Module) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("recsys_causal"):
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("recsys_causal")]
    return found


def test_every_top_level_module_has_a_layer():
    unknown = sorted({top(name) for name, _, _ in MODULES} - set(LAYER_OF))
    assert not unknown, f"add {unknown} to LAYERS (and to ARCHITECTURE.md)"


def test_lower_layers_never_import_higher_ones():
    upward = []
    for name, _, tree in MODULES:
        for target, _ in package_imports(tree):
            if LAYER_OF.get(top(target), 0) > LAYER_OF.get(top(name), 0):
                upward.append(f"{name} imports {target}")
    assert not upward, "\n".join(upward)


def test_no_module_is_longer_than_the_limit():
    long = {str(p.relative_to(PACKAGE)): n for _, p, _ in MODULES if (n := len(p.read_text().splitlines()))
            > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_is_longer_than_the_limit():
    long = {}
    for _, path, tree in MODULES:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}::{node.name}"] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def significant_lines(path: Path) -> list[tuple[int, str]]:
    """Code lines with whitespace removed; blank lines, comments, imports and docstring text left out."""
    tree = ast.parse(path.read_text())
    doc_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str):
                doc_lines.update(range(first.lineno, first.end_lineno + 1))
    out = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        text = "".join(line.split())
        if not text or text.startswith("#") or i in doc_lines or text.startswith(("import", "from")):
            continue
        if len(text) <= 3:  # a lone bracket or `)` closes nothing worth counting
            continue
        out.append((i, text))
    return out


def repeated_runs(paths: list[Path], size: int = MIN_REPEATED_LINES) -> list[str]:
    """Places where ``size`` consecutive significant lines stand again elsewhere, to the letter."""
    seen: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for path in paths:
        lines = significant_lines(path)
        for k in range(len(lines) - size + 1):
            window = tuple(t for _, t in lines[k:k + size])
            seen[window].append(f"{path.relative_to(PACKAGE)}:{lines[k][0]}")
    return sorted(" ~ ".join(places) for places in seen.values() if len(places) > 1)


def test_the_repeat_finder_finds_a_repeat(tmp_path):
    body = "\n".join(f"    x{i} = compute({i}) + other({i})" for i in range(7))
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(f"def {name}():\n{body}\n    return x0\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        assert repeated_runs([tmp_path / "a.py", tmp_path / "b.py"])
    finally:
        PACKAGE = saved


@pytest.mark.parametrize("size", [MIN_REPEATED_LINES])
def test_no_run_of_lines_is_repeated_in_the_package(size):
    found = repeated_runs([p for _, p, _ in MODULES], size)
    assert not found, f"{len(found)} runs of {size} lines stand in two places:\n" + "\n".join(found[:20])
