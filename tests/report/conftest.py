import shutil

import pytest
from report_tables import ROOT

EXAMPLES = ROOT / "reports" / "examples"


@pytest.fixture
def example_dir(tmp_path):
    """A copy of the examples with their data, so outputs land in tmp_path."""
    (tmp_path / "reports" / "examples").mkdir(parents=True)
    for f in EXAMPLES.glob("*.yaml"):
        shutil.copy(f, tmp_path / "reports" / "examples" / f.name)
    shutil.copytree(ROOT / "decision_logs", tmp_path / "decision_logs")
    return tmp_path / "reports" / "examples"
