"""Run one benchmark step in a fresh process and report its wall time and peak resident memory."""

from __future__ import annotations

import json
import subprocess
import sys

# The child's own high-water mark (VmHWM starts afresh at exec). ``ru_maxrss`` of the children would also
# count the parent's resident memory at fork time, e.g. a log the parent has just generated.
_PEAK = """
def _peak_rss_gb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
"""


def measure(code: str) -> dict:
    """Execute ``code`` in a child interpreter; it must set ``_result`` (a dict of extra fields)."""
    wrapped = (
        "import time, json\n" + _PEAK + "_t0 = time.perf_counter()\n" + code +
        "\nprint(json.dumps({**_result, 'seconds': time.perf_counter() - _t0, 'peak_rss_gb': _peak_rss_gb()}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])
