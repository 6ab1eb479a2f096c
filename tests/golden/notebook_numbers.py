"""The notebooks' key results, frozen: every number each notebook displays (the value of a cell's last line).

    python tests/golden/notebook_numbers.py --update   # rewrite tests/golden/notebooks.json after an intended change

Each notebook's code cells run in-process, in order, in one namespace (as a kernel would run them, with the
notebooks folder as working directory and a non-interactive matplotlib backend). The value of every cell whose
last line is an expression is turned into numbers by path: a table cell by row and column, a field of a result
object by name, an element of a tuple by position. Strings are left out. Code cells are numbered ``cell{k}`` in
order, skipping the cells tagged ``figure`` (plots): adding a figure cell moves no frozen key.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"
FROZEN = GOLDEN / "notebooks.json"
MAX_ROWS = 200  # tables longer than this contribute their first rows only
FIGURE_TAG = "figure"  # cells with this tag show a plot: they run, but are not numbered (see numbered_cells)


def numbers_of(value, path: str, out: dict[str, float | None]) -> None:
    """Every numeric leaf of a displayed value by path (tables by row and column, results by field)."""
    if isinstance(value, bool | np.bool_):
        out[path] = float(value)
    elif isinstance(value, int | float | np.integer | np.floating):
        out[path] = None if value is None else float(value)
    elif isinstance(value, pd.DataFrame):
        for i, (_, row) in enumerate(value.head(MAX_ROWS).iterrows()):
            for col, cell in row.items():
                numbers_of(cell, f"{path}[{i}].{col}", out)
    elif isinstance(value, pd.Series):
        numbers_of(value.to_frame(), path, out)
    elif isinstance(value, dict):
        for key, item in value.items():
            numbers_of(item, f"{path}.{key}", out)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value[:MAX_ROWS]):
            numbers_of(item, f"{path}[{i}]", out)
    elif hasattr(value, "to_frame") and callable(value.to_frame):
        numbers_of(value.to_frame(), path, out)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            numbers_of(getattr(value, f.name), f"{path}.{f.name}", out)


def numbered_cells(nb) -> list[tuple[int | None, Any]]:
    """The code cells in order with their key index ``k``: cells tagged ``figure`` (plots, which show no
    numbers) run but get ``None`` and are not counted, so adding a figure cell moves no other cell's key."""
    out: list[tuple[int | None, Any]] = []
    k = 0
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        figure = FIGURE_TAG in cell.get("metadata", {}).get("tags", [])
        out.append((None if figure else k, cell))
        k += not figure
    return out


def run_notebook(path: Path) -> dict[str, float | None]:
    """Run one notebook's code cells in-process and collect the numbers of every displayed value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat

    nb = nbformat.read(path, as_version=4)
    namespace: dict = {"__name__": "__notebook__"}
    out: dict[str, float | None] = {}
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        for k, cell in numbered_cells(nb):
            tree = ast.parse(cell.source)
            last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            body = tree.body[:-1] if last is not None else tree.body
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
                if last is not None and not cell.source.rstrip().endswith(";"):
                    shown = eval(compile(ast.Expression(body=last.value), str(path), "eval"), namespace)
                    if k is not None:
                        numbers_of(shown, f"cell{k}", out)
            plt.close("all")
    finally:
        os.chdir(cwd)
    return out


def current() -> dict[str, dict[str, float | None]]:
    return {p.stem: run_notebook(p) for p in sorted(NOTEBOOKS.glob("*.ipynb"))}


def compare(expected: dict, got: dict, rtol: float = 1e-12, atol: float = 1e-12) -> list[str]:
    """Frozen paths that moved beyond the tolerance or disappeared (new paths are allowed: results may gain
    fields)."""
    from golden_numbers import differences

    return [d for d in differences(expected, got, rtol, atol) if not d.startswith("new: ")]


def main() -> int:
    if "--update" not in sys.argv:
        print(__doc__)
        return 2
    sys.path.insert(0, str(ROOT))
    from recsys_causal.io_utils import atomic_write_text

    found = current()
    atomic_write_text(FROZEN, json.dumps(found, indent=1, sort_keys=True, allow_nan=True) + "\n")
    for name, values in found.items():
        print(f"{name}: {len(values)} numbers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
