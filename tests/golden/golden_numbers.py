"""Every number the shipped examples produce, frozen so a refactor cannot move them unnoticed.

    python tests/golden/golden_numbers.py --add-new  # freeze new paths only; refuses if a frozen value moved
    python tests/golden/golden_numbers.py --update   # rewrite tests/golden/*.json after an intended change

The examples are the experiment reports (``reports/examples/{ab,holdout,switchback,holdout_log,longterm}.yaml``)
and the pre-launch screen (``reports/examples/screen.yaml``). Numbers are collected from their JSON by path (strings,
timestamps and hashes are left out); a change is accepted only with a listed reason in the commit. Candidates
are keyed by name (``candidates[new-softmax].primary.value``), not by their place in the verdict order, so adding
a candidate to an example moves no frozen path.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
REPORTS = ("ab", "holdout", "switchback", "holdout_log", "longterm")
SKIP_KEYS = {"reproducibility", "generated_at"}


def numbers(node, path: str = "") -> dict[str, float | None]:
    """Every numeric leaf of a JSON document by its path (``metrics[0].ci_low``); NaN and None are kept."""
    out: dict[str, float | None] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in SKIP_KEYS:
                out.update(numbers(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.update(numbers(value, f"{path}[{_item_key(path, node, i)}]"))
    elif isinstance(node, bool):
        out[path] = float(node)
    elif isinstance(node, int | float):
        out[path] = float(node)
    return out


def _item_key(path: str, items: list, i: int) -> str:
    """A candidate's name when the list is a list of uniquely named candidates, else the index."""
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    named = path.rsplit(".", 1)[-1] == "candidates" and all(isinstance(n, str) for n in names)
    return str(names[i]) if named and len(set(names)) == len(names) else str(i)


def current() -> dict[str, dict[str, float | None]]:
    """Run the examples in a scratch copy of the project and collect their numbers."""
    from recsys_causal.gate import main as gate_main
    from recsys_causal.report import build_report

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "reports" / "examples", work / "reports" / "examples")
        shutil.copytree(ROOT / "decision_logs", work / "decision_logs")
        found = {}
        for name in REPORTS:
            _, json_path, _ = build_report(work / "reports" / "examples" / f"{name}.yaml", work / f"{name}.html",
                                           work / f"{name}.json")
            found[f"report_{name}"] = numbers(json.loads(json_path.read_text()))
        gate_json = work / "gate.json"
        code = gate_main([str(work / "reports" / "examples" / "screen.yaml"), "--json", str(gate_json),
                          "--markdown", str(work / "gate.md")])
        found["gate_screen"] = numbers(json.loads(gate_json.read_text())) | {"exit_code": float(code)}
    return found


def load(name: str) -> dict[str, float | None]:
    """The frozen numbers of one example (none yet for an example added since the last freeze)."""
    path = GOLDEN / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def differences(expected: dict, got: dict, rtol: float = 1e-12, atol: float = 1e-12) -> list[str]:
    """Paths whose value moved beyond the tolerance, or that appeared or disappeared."""
    out = [f"missing: {k}" for k in expected.keys() - got.keys()]
    out += [f"new: {k}" for k in got.keys() - expected.keys()]
    for key in expected.keys() & got.keys():
        a, b = expected[key], got[key]
        if a is None or b is None or math.isnan(a) or math.isnan(b):
            same = (a is None and b is None) or (a is not None and b is not None and math.isnan(a) and math.isnan(b))
        else:
            same = math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
        if not same:
            out.append(f"{key}: {a!r} -> {b!r}")
    return sorted(out)


def main() -> int:
    if "--update" not in sys.argv and "--add-new" not in sys.argv:
        print(__doc__)
        return 2
    sys.path.insert(0, str(ROOT))
    from recsys_causal.io_utils import atomic_write_text

    found = current()
    if "--add-new" in sys.argv:
        moved = {name: [d for d in differences(load(name), values) if not d.startswith("new: ")]
                 for name, values in found.items()}
        if any(moved.values()):
            print("frozen values moved; nothing written:", {k: v[:5] for k, v in moved.items() if v})
            return 1
        found = {name: values | load(name) for name, values in found.items()}
    for name, values in found.items():
        atomic_write_text(GOLDEN / f"{name}.json", json.dumps(values, indent=1, sort_keys=True, allow_nan=True) + "\n")
        print(f"{name}: {len(values)} numbers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
