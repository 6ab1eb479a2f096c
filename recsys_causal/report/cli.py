"""``causal-report experiment.yaml [--out PATH] [--json PATH] [--quiet | --verbose] [--debug] [--version]``.

Exit codes: 0 report written; 2 invalid config, data or output path (a message naming the key, file or path and
the fix; no traceback unless ``--debug``); 1 an unexpected internal error; 130 interrupted.

Outputs: before any analysis runs, an output that resolves (after symlinks, ``..`` and the file system's case
rules) to the config, a data file, a file inside a data directory, or the other output is refused (exit 2), as is
an output that is a directory, a device node, a symbolic link or a path under a regular file. Both files are
written to temporaries beside their targets and renamed together: a run replaces both outputs or neither, and a
failed run leaves the previous outputs untouched. Files follow the umask; missing directories are created (and
removed again if the run fails). ``-`` (or ``/dev/stdout``) writes one of the two to standard output; the summary
line then goes to stderr. Progress steps, data-quality counts and caveats go to stderr through the
``recsys_causal`` logger (:mod:`recsys_causal.cli_logging`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recsys_causal.cli_errors import add_common_options, guarded_run
from recsys_causal.cli_logging import cli_logging, log_counts
from recsys_causal.outputs import config_output, is_stdout

EXIT_OK, EXIT_INTERNAL = 0, 1
LOG = logging.getLogger(__name__)


def report_inputs(cfg, base: Path, config_path: str | Path) -> dict[str, Path]:
    """Everything a report run reads: the config, each ``data.*`` path and the OPE screen with its inputs."""
    from recsys_causal.gate.cli import gate_inputs

    d = cfg.data
    inputs = {"config": Path(config_path)}
    for key in ("decision_log", "outcome_events", "units", "covariates_table", "schedule", "events"):
        if getattr(d, key):
            inputs[f"data.{key}"] = base / getattr(d, key)
    if cfg.ope_screen:
        inputs["ope_screen"] = base / cfg.ope_screen
        if inputs["ope_screen"].is_file():
            from recsys_causal.gate.config import load_gate_config

            gate_cfg, gate_base = load_gate_config(inputs["ope_screen"])
            inputs.update({f"ope_screen {k}": v for k, v in gate_inputs(gate_cfg, gate_base, inputs["ope_screen"]).items()
                           if k != "config"})
    return inputs


def build_report(config_path: str | Path, out: str | Path | None = None, json_out: str | Path | None = None,
                 progress=None) -> tuple[Path, Path, dict]:
    """Run the plan and write HTML and JSON (both or neither); returns their paths and the report data.

    Output paths are checked against every input before the analysis runs
    (:class:`~recsys_causal.errors.OutputError` if one would overwrite an input or the other output).
    """
    from recsys_causal.outputs import OutputPlan
    from recsys_causal.report.analysis import run_plan
    from recsys_causal.report.config import load_config
    from recsys_causal.report.render import render_html

    progress = progress or LOG.info
    cfg, base = load_config(config_path)
    html_key = "--out" if out else "output.html"
    json_key = "--json" if json_out else "output.json"
    html_path = Path(out) if out else config_output(base, cfg.output.html)
    json_path = Path(json_out) if json_out else config_output(base, cfg.output.json_path)
    inputs = report_inputs(cfg, base, config_path)
    LOG.debug("inputs: %s", ", ".join(f"{k}={v}" for k, v in inputs.items()))
    LOG.debug("outputs: %s=%s, %s=%s", html_key, html_path, json_key, json_path)
    plan = OutputPlan({html_key: html_path, json_key: json_path}, inputs)
    result = run_plan(cfg, base, Path(config_path).read_bytes(), progress)
    progress("rendering HTML")
    page = render_html(result)
    data = {k: v for k, v in result.items() if k != "figures"}
    text = json.dumps(data, indent=2, allow_nan=False, default=str)
    plan.write({html_key: page, json_key: text})
    return html_path, json_path, result


EPILOG = """\
outputs:
  Always exactly two files, the HTML report and its JSON: --out / --json if given, else output.html /
  output.json of the YAML (relative to the YAML), else report.html / report.json beside the YAML. Both are
  checked against every input before the analysis runs and replaced together or not at all; missing
  directories are created. '-' sends one of the two to standard output (the summary line then goes to stderr).

stderr:
  Progress steps, data-quality counts (requests read, used, quarantined and excluded by reason) and each
  statistical caveat on one 'warning:' line; --verbose adds detail, --quiet leaves errors only. Progress
  bars show when stderr is a terminal (RECSYS_CAUSAL_PROGRESS=0 turns them off, =1 on).

exit codes:
  0    report written (the verdict is in the report, not in the exit code)
  2    invalid config, data or output path: one line naming the key, file or path and the fix
       (also a caveat made an error with -W error::recsys_causal.StatisticalWarning)
  1    unexpected internal error (rerun with --debug for the traceback)
  130  interrupted; previous outputs are unchanged unless the summary line says 'wrote'
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``causal-report`` argument parser (every option has a help sentence; exit codes in the epilog)."""
    ap = argparse.ArgumentParser(prog="causal-report", description="Write an experiment report (HTML + JSON) from "
                                 "an experiment YAML: A/B, holdout or switchback readout, guardrails, segments and "
                                 "the ship / do-not-ship decision.", epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="the experiment YAML; paths in it are relative to its directory")
    ap.add_argument("--out", metavar="PATH", help="write the HTML report to PATH (default: output.html in the YAML, "
                    "else report.html beside it); - for standard output")
    ap.add_argument("--json", dest="json_out", metavar="PATH", help="write the JSON report to PATH (default: "
                    "output.json in the YAML, else report.json beside it); - for standard output")
    return add_common_options(ap)


def log_data_quality(logger: logging.Logger, quality: Mapping[str, Any]) -> None:
    """The report's data accounting as INFO lines: per source requests read, used and quarantined by reason;
    the unit-metric accounting (read, used, quarantined, excluded by reason, units); other flat counts."""
    for s in quality.get("sources", []):
        log_counts(logger, f"data {s.get('name')}", {"requests read": s.get("requests_read"),
                                                     "used": s.get("requests_used"),
                                                     "quarantined": s.get("quarantined_by_reason") or {}})
    um = quality.get("unit_metrics")
    if um:
        log_counts(logger, "unit metrics", {"requests read": um.get("requests_read"), "used": um.get("requests_used"),
                                            "quarantined": um.get("requests_quarantined") or {},
                                            "excluded": um.get("requests_excluded") or {}, "units": um.get("units")})
    for key, value in quality.items():
        if isinstance(value, Mapping) and value and key != "unit_metrics" \
                and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            log_counts(logger, key.replace("_", " "), value)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with cli_logging("causal-report", quiet=args.quiet, verbose=args.verbose):
        code, built = guarded_run(
            "causal-report", lambda: build_report(args.config, args.out, args.json_out), debug=args.debug,
            exit_internal=EXIT_INTERNAL,
            interrupted="interrupted; previous outputs are unchanged unless the line above says 'wrote'")
        if code is not None:
            return code
        assert built is not None  # guarded_run returns the action's result whenever the code is None
        html_path, json_path, result = built
        log_data_quality(LOG, result.get("data_quality") or {})
    to_stdout = is_stdout(html_path) or is_stdout(json_path)
    print(f"{result['decision']['verdict']}: wrote {html_path} and {json_path}",
          file=sys.stderr if to_stdout else sys.stdout)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
