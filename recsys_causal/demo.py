"""The main job on the shipped example: ``python -m recsys_causal.demo`` (what ``make demo`` runs).

Reads and validates the shipped sample decision log with its outcome events and label windows, prints a
summary, shows quarantine at work on the deliberately dirty sample, writes the validation results to
``reports/out/`` (JSON and the quarantined rows as CSV), then runs ``causal-report`` on the four example
configs in ``reports/examples/`` (A/B, holdout, switchback, long-term readouts at 7/14/30 days), writing their
HTML and JSON reports to ``reports/out/``. Exit code 0 on success, 2 on a data or input error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from recsys_causal.errors import RecsysCausalError
from recsys_causal.logs import read_decision_log
from recsys_causal.outputs import OutputPlan
from recsys_causal.simulate.sample import AS_OF, LABELS

ROOT = Path(__file__).resolve().parent.parent


def run(data_dir: Path, out_dir: Path) -> dict:
    quarantine, summary = out_dir / "sample_dirty_quarantine.csv", out_dir / "sample_validation.json"
    inputs = {n: data_dir / n for n in ("sample_decision_log.parquet", "sample_outcome_events.parquet",
                                         "sample_dirty.csv")}
    plan = OutputPlan({"quarantine": quarantine, "summary": summary}, inputs)  # checked before anything is read
    log, report = read_decision_log(
        data_dir / "sample_decision_log.parquet", require_propensity=True,
        outcome_events=data_dir / "sample_outcome_events.parquet", labels=list(LABELS), as_of=AS_OF,
    )
    print(f"== {log!r}\n")
    print(log.summary().to_string(), "\n")
    print(report, "\n")
    dirty_log, dirty = read_decision_log(data_dir / "sample_dirty.csv", require_propensity=True)
    print("== deliberately dirty sample")
    print(dirty, "\n")
    print(dirty.counts().to_string(index=False), "\n")
    result = {
        "sample": {"requests": log.n_requests, "candidate_rows": log.n_candidates,
                   "issues": report.to_frame().to_dict(orient="records"),
                   "summary": {k: str(v) for k, v in log.summary()["value"].items()}},
        "dirty_sample": {"read": dirty.n_requests_read, "used": dirty.n_requests_used,
                         "quarantined_by_reason": dirty.quarantine_counts, "reconciles": dirty.reconciles(),
                         "issues": dirty.to_frame().to_dict(orient="records")},
    }
    plan.write(
        {"quarantine": lambda p: dirty.quarantine.to_csv(p, index=False),
         "summary": json.dumps(result, indent=2, default=str)})
    print(f"wrote {summary}\nwrote {quarantine}\n")
    from recsys_causal.report import build_report

    for name in ("ab", "holdout", "holdout_log", "switchback", "longterm"):
        cfg = ROOT / "reports" / "examples" / f"{name}.yaml"
        html_path, json_path, rep = build_report(cfg, out_dir / f"{name}_report.html", out_dir / f"{name}_report.json")
        print(f"== {name} report: {rep['decision']['verdict']}")
        for reason in rep["decision"]["reasons"]:
            print(f"   - {reason}")
        print(f"   wrote {html_path}\n   wrote {json_path}")
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    data_dir = Path(argv[0]) if argv else ROOT / "decision_logs"
    out_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "reports" / "out"
    pd.set_option("display.width", 140)
    try:
        run(data_dir, out_dir)
    except RecsysCausalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
