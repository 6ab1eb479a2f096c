"""Import time of the package, in fresh processes (median of 7 runs).

    python benchmarks/bench_import.py

``import recsys_causal`` loads only the warning classes, the errors and the version: every other public name is
imported from its module on first use. The other rows show what the first use of an area costs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

CASES = {
    "import recsys_causal": "import recsys_causal",
    "from recsys_causal import analyze_ab": "from recsys_causal import analyze_ab",
    "from recsys_causal import evaluate_policies": "from recsys_causal import evaluate_policies",
    "import numpy, pandas (reference)": "import numpy, pandas",
}


def seconds(statement: str, runs: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                  check=True).stdout) for _ in range(runs))


if __name__ == "__main__":
    for label, statement in CASES.items():
        print(f"{label:48s} {seconds(statement):.3f} s")
