"""Thread pools while models are fitted: one knob for BLAS and OpenMP threads.

scikit-learn, econml and numpy's BLAS each start thread pools; nested inside cross-fitting loops, or on a busy
machine, they oversubscribe the cores (a 1M × 26 matrix product took 31.6 s with default threading against
0.034 s on one thread). Every model fit and BLAS-heavy loop of the package runs inside :func:`model_threads`,
which caps those pools at ``RECSYS_CAUSAL_THREADS`` threads (default 1: the package parallelises nothing
itself, so one thread per pool is the predictable choice; raise it on an idle many-core machine).

>>> from threadpoolctl import threadpool_info
>>> with model_threads(1):
...     all(p["num_threads"] == 1 for p in threadpool_info())
True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from recsys_causal.errors import ConfigError

ENV_VAR = "RECSYS_CAUSAL_THREADS"


def configured_threads() -> int:
    """The thread cap for model fits: ``RECSYS_CAUSAL_THREADS`` (a positive integer), else 1."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{ENV_VAR}={raw!r} is not a positive integer", column=ENV_VAR,
                          fix=f"set {ENV_VAR} to the number of threads per pool (e.g. 1), or unset it")
    return int(raw)


@contextmanager
def model_threads(n: int | None = None) -> Iterator[None]:
    """Cap BLAS and OpenMP thread pools at ``n`` (default :func:`configured_threads`) inside the block; the
    previous limits are restored on exit."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=configured_threads() if n is None else int(n)):
        yield
