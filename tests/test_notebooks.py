"""Every notebook in notebooks/ runs top to bottom without error and shows at least one figure; a readout's
``.plot()`` returned as a cell's last value shows as a PNG image, with or without pyplot imported."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def _images(nb) -> list[list[str]]:
    """Per code cell, the MIME types of its image outputs."""
    return [[m for o in c.outputs for m in o.get("data", {}) if m.startswith("image/")]
            for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    assert any("image/png" in cell for cell in _images(nb)), f"{path.name} shows no figure"


def test_a_plot_shows_inline_as_png(tmp_path):
    """A Figure from ``.plot()`` as a cell's last value is an image/png output without pyplot; after pyplot is
    imported with the inline backend it is still shown exactly once, and the backend is the kernel's."""
    cells = ["from recsys_causal.plotting import bar_intervals, rows_figure, Rows\n"
             "rows_figure(Rows(['a'], [0.1], [0.0], [0.2]))",
             "import matplotlib\nbackend = matplotlib.get_backend()\nbackend",
             "import matplotlib.pyplot as plt\nrows_figure(Rows(['a'], [0.1], [0.0], [0.2]))",
             "import matplotlib\nmatplotlib.get_backend() == backend, plt.get_fignums()"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert _images(nb)[0] == ["image/png"] and _images(nb)[2] == ["image/png"]
    assert "inline" in nb.cells[1].outputs[0]["data"]["text/plain"]
    assert nb.cells[3].outputs[0]["data"]["text/plain"] == "(True, [])"
