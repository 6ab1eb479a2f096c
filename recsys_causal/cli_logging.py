"""What the command-line tools print on stderr while they run, through the ``recsys_causal`` logger.

Default: progress steps and data-quality counts (read, quarantined by reason, excluded, used) at INFO and each
statistical caveat (a :class:`~recsys_causal.caveats.StatisticalWarning`) as one WARNING line, not as a Python
warning with its source line; ``--verbose`` adds DEBUG detail; ``--quiet`` prints errors only (the caveats are
in the written outputs either way) and turns progress bars off.

>>> import io, logging, warnings
>>> from recsys_causal.caveats import DataQualityWarning
>>> err = io.StringIO()
>>> with cli_logging("tool", stream=err, clock=lambda: 0.0):
...     logging.getLogger("recsys_causal.demo").info("reading the log")
...     warnings.warn("3 rows quarantined", DataQualityWarning)
>>> print(err.getvalue(), end="")
tool: [   0.0s] reading the log
tool: warning: 3 rows quarantined (DataQualityWarning)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from recsys_causal.caveats import StatisticalWarning
from recsys_causal.progress import quiet as quiet_progress

ROOT = "recsys_causal"


def add_verbosity_options(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--verbose`` (mutually exclusive)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="print only errors on stderr: no progress, no counts, "
                       "no caveat lines (the caveats are in the outputs)")
    group.add_argument("--verbose", action="store_true", help="also print debug detail on stderr")


class _Formatter(logging.Formatter):
    """``prog: [  1.2s] message`` for progress, ``prog: warning: message`` for warnings and caveats."""

    def __init__(self, prog: str, clock: Callable[[], float]) -> None:
        super().__init__()
        self.prog, self.clock, self.start = prog, clock, clock()

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{self.prog}: {record.levelname.lower()}: {text}"
        return f"{self.prog}: [{self.clock() - self.start:6.1f}s] {text}"


@contextlib.contextmanager
def cli_logging(prog: str, *, quiet: bool = False, verbose: bool = False, stream: IO[str] | None = None,
                clock: Callable[[], float] = time.perf_counter) -> Iterator[logging.Logger]:
    """Within the block: the package logger writes to ``stream`` (default: the current stderr) at the level the
    flags ask for, caveat warnings become log lines, and ``--quiet`` turns progress bars off."""
    logger = logging.getLogger(ROOT)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(_Formatter(prog, clock))
    old_level = logger.level
    logger.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.addHandler(handler)
    caveat_log = logging.getLogger(f"{ROOT}.caveats")
    try:
        with warnings.catch_warnings(), quiet_progress(quiet):
            show = warnings.showwarning

            def route(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
                if issubclass(category, StatisticalWarning):
                    caveat_log.warning("%s (%s)", message, category.__name__)
                else:
                    show(message, category, *args, **kwargs)

            warnings.showwarning = route
            yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def log_counts(logger: logging.Logger, what: str, counts: Mapping[str, Any]) -> None:
    """One INFO line of counts, ``what: read 100, used 90, quarantined 6 (reason: n), excluded 4 (reason: n)``;
    a mapping value is a breakdown by reason (left out when empty)."""
    parts = []
    for key, value in counts.items():
        if isinstance(value, Mapping):
            total = sum(int(v) for v in value.values())
            detail = ", ".join(f"{k}: {v}" for k, v in value.items() if v)
            parts.append(f"{key} {total}" + (f" ({detail})" if detail else ""))
        elif value is not None:
            parts.append(f"{key} {value}")
    logger.info("%s: %s", what, ", ".join(parts))


__all__ = ["add_verbosity_options", "cli_logging", "log_counts"]
