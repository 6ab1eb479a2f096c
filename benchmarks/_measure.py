"""Run one benchmark step in a fresh process and report its wall time and peak resident memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def measure(code: str) -> dict:
    """Execute ``code`` in a child interpreter; it must print one JSON line of extra fields last."""
    wrapped = (
        "import time, json\n_t0 = time.perf_counter()\n" + code +
        "\nprint(json.dumps({**_result, 'seconds': time.perf_counter() - _t0}))\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["peak_rss_gb"] = max(peak_kb, before) / 1024**2
    return out
