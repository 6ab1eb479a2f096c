"""What the sections of one report run share: the plan, where its paths resolve, the inputs read (for the
reproducibility block), data-quality facts recorded while reading, and the results of the sections run so far.

>>> from recsys_causal.report.config import ReportConfig
>>> cfg = ReportConfig.model_validate({"experiment": {"name": "x", "design": "holdout"},
...                                    "data": {"units": "u.parquet"}})
>>> ctx = ReportContext(cfg, Path("."))
>>> ctx.once("answer", lambda: 42), ctx.once("answer", lambda: 0)
(42, 42)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from recsys_causal.report.config import resolve
from recsys_causal.report.records import read_table

if TYPE_CHECKING:
    from recsys_causal.report.config import ReportConfig
    from recsys_causal.report.sections.base import SectionResult

Progress = Callable[[str], None]
T = TypeVar("T")


def _silent(_: str) -> None:
    return None


@dataclass
class ReportContext:
    """One run of a report plan (``cfg`` with paths relative to ``base``)."""

    cfg: ReportConfig
    base: Path
    progress: Progress = _silent
    inputs: dict[str, Path] = field(default_factory=dict)
    data_quality: dict[str, Any] = field(default_factory=lambda: {"sources": []})
    warnings: list[str] = field(default_factory=list)
    results: dict[str, SectionResult | None] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for in this run, the same object afterwards (a readout
        several sections read is computed once)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def path(self, value: str | None, key: str) -> Path | None:
        """The file a config ``key`` names (relative to the YAML), recorded as an input of the report."""
        p = resolve(self.base, value, key)
        if p is not None:
            self.inputs[key] = p
        return p

    def table(self, value: str, key: str) -> tuple[pd.DataFrame, Path]:
        """The table a config ``key`` names, and its path."""
        p = self.path(value, key)
        return read_table(p), p

    def count_duplicates(self, key: str, dedup) -> None:
        """Exact repeated rows removed from the table of ``key``: counted in the data-quality section, warned."""
        if dedup.rows_removed:
            self.data_quality.setdefault("duplicate_rows_removed", {})[key] = {
                "rows": dedup.rows_removed, "units": dedup.units, "key": dedup.column,
                "examples": [str(v) for v in dedup.examples[:5]]}
            self.warnings.append(dedup.message())
