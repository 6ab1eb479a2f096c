"""The validation studies' rows (``docs/validation.md``) at a few simulated datasets each, frozen.

Every study is seeded per run, so the rows it gives at ``RUNS`` runs are the same code, seeds and arithmetic as
the table's; a change that moves any estimate across an interval bound, a false-positive decision or a printed
bias shows up here without the hour-long full run (``make validation``).

    python tests/golden/validation_rows.py --add-new   # freeze studies not frozen yet; refuses moved ones
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROZEN = Path(__file__).resolve().parent / "validation_rows.json"
RUNS = 10


def studies() -> dict:
    """Every study of ``validation/`` by name (``validation/studies.py:all_studies``)."""
    sys.path.insert(0, str(ROOT / "validation"))
    from studies import all_studies

    return all_studies()


def rows_of(name: str, runs: int = RUNS) -> list[list]:
    """The rows of one study at ``runs`` simulated datasets, as JSON-ready lists."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the studies provoke the caveats they measure
        return [list(row) for row in studies()[name](runs)]


def load() -> dict[str, list[list]]:
    return json.loads(FROZEN.read_text())["studies"]


def main() -> None:
    if sys.argv[1:] != ["--add-new"]:
        raise SystemExit(__doc__)
    frozen = load() if FROZEN.exists() else {}
    moved = [n for n in frozen if n in studies() and rows_of(n) != frozen[n]]
    if moved:
        raise SystemExit(f"frozen rows moved for {moved}: fix the change, not the freeze")
    added = {n: rows_of(n) for n in studies() if n not in frozen}
    from recsys_causal.io_utils import atomic_write_text

    atomic_write_text(FROZEN, json.dumps({"runs": RUNS, "studies": {**frozen, **added}}, indent=1) + "\n")
    print(f"{len(added)} studies added: {sorted(added)}")


if __name__ == "__main__":
    main()
