import pytest


@pytest.fixture
def example_dir(project):
    """A copy of the examples with their data, so outputs land in tmp_path."""
    return project / "reports" / "examples"
