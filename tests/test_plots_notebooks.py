"""Figure cells in the notebooks: tagged ``figure``, they show a plot and move no frozen notebook number."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))

from notebook_numbers import FIGURE_TAG, NOTEBOOKS, numbered_cells  # noqa: E402


def test_figure_cells_are_not_numbered():
    cells = [nbformat.v4.new_code_cell(s) for s in ("a = 1", "b = 2", "plot()", "c = 3")]
    cells[2].metadata["tags"] = [FIGURE_TAG]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), *cells])
    assert [(k, c.source) for k, c in numbered_cells(nb)] == [(0, "a = 1"), (1, "b = 2"), (None, "plot()"),
                                                               (2, "c = 3")]


def test_every_notebook_has_figure_cells_that_end_in_a_plot():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        figures = [c for k, c in numbered_cells(nb) if k is None]
        assert figures, path.name
        for cell in figures:
            last = ast.parse(cell.source).body[-1]
            assert isinstance(last, ast.Expr) and "plot" in ast.unparse(last), (path.name, cell.source)
