"""Results as JSON-ready records, input tables, and the provenance block of a report.

>>> import pandas as pd
>>> records(pd.DataFrame({"x": [1.5, float("nan")]}))
[{'x': 1.5}, {'x': None}]
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_causal.errors import InputFileError
from recsys_causal.estimate import Estimate, EstimateTable


def estimates_json(table: EstimateTable | list[Estimate]) -> list[dict]:
    """Each estimate as a JSON-ready dict."""
    out = []
    for e in table:
        row = e.to_dict()
        out.append({k: json_number(v) for k, v in row.items()})
    return out


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of a frame as JSON-ready dicts."""
    return [{k: json_number(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def json_number(v):
    """A value as JSON-ready: numpy scalars as Python numbers, NaN and infinity as None, times as text."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, pd.Timestamp | pd.Timedelta):
        return str(v)
    return v


def source_quality(name: str, report) -> dict:
    return {"name": name, "rows_read": report.n_rows_read, "requests_read": report.n_requests_read,
            "requests_used": report.n_requests_used, "quarantined_by_reason": dict(report.quarantine_counts),
            "issues": [{"code": i.code, "severity": i.severity, "count": i.count, "unit": i.unit,
                        "message": i.message} for i in report.issues]}


def read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an input error for the user
        raise InputFileError(f"cannot be read: {exc}", source=str(path), fix="check the file") from exc


def reproducibility(cfg, config_bytes: bytes, inputs: dict[str, Path]) -> dict:
    import importlib.metadata as md

    versions = {}
    for pkg in ("recsys-causal", "numpy", "scipy", "pandas", "statsmodels", "econml", "matplotlib", "pyarrow"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"package_versions": versions, "config_sha256": hashlib.sha256(config_bytes).hexdigest(),
            "input_sha256": {k: file_sha256(p) for k, p in inputs.items()}, "seed": cfg.seed,
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a directory's files (relative paths and contents, in sorted order)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(f.relative_to(path).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023 - consumed inside the loop
                h.update(chunk)
    return h.hexdigest()
