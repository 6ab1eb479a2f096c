"""The package version: from the installed distribution's metadata, else from ``pyproject.toml`` beside the
source (a checkout run with ``PYTHONPATH``), else ``"unknown"``.

>>> import re
>>> bool(re.fullmatch(r"\\d+\\.\\d+\\.\\d+.*|unknown", package_version()))
True
>>> version_line().startswith("recsys-causal ")
True
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

__all__ = ["DISTRIBUTION", "package_version", "version_line"]

DISTRIBUTION = "recsys-causal"
_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def package_version() -> str:
    """``importlib.metadata.version("recsys-causal")``, falling back to the ``project.version`` of the source
    tree's ``pyproject.toml`` when the package is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    try:
        project = tomllib.loads(_PYPROJECT.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return "unknown"
    return str(project.get("version", "unknown")) if project.get("name") == DISTRIBUTION else "unknown"


def version_line() -> str:
    """What ``<prog> --version`` prints: ``recsys-causal <version>`` (the same for both command-line tools)."""
    return f"{DISTRIBUTION} {package_version()}"
