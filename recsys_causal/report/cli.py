"""``causal-report experiment.yaml [--out PATH] [--json PATH] [--debug] [--quiet] [--version]``.

Exit codes: 0 report written; 2 invalid config, data or output path (a message naming the key, file or path and
the fix; no traceback unless ``--debug``); 1 an unexpected internal error; 130 interrupted.

Outputs: before any analysis runs, an output that resolves (after symlinks, ``..`` and the file system's case
rules) to the config, a data file, a file inside a data directory, or the other output is refused (exit 2), as is
an output that is a directory, a device node, a symbolic link or a path under a regular file. Both files are
written to temporaries beside their targets and renamed together: a run replaces both outputs or neither, and a
failed run leaves the previous outputs untouched. Files follow the umask; missing directories are created (and
removed again if the run fails). ``-`` (or ``/dev/stdout``) writes one of the two to standard output; the summary
line then goes to stderr. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from recsys_causal.cli_errors import add_common_options, guarded_run
from recsys_causal.outputs import config_output, is_stdout

EXIT_OK, EXIT_INTERNAL = 0, 1


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

    progress = progress or (lambda _: None)
    cfg, base = load_config(config_path)
    html_key = "--out" if out else "output.html"
    json_key = "--json" if json_out else "output.json"
    html_path = Path(out) if out else config_output(base, cfg.output.html)
    json_path = Path(json_out) if json_out else config_output(base, cfg.output.json_path)
    plan = OutputPlan({html_key: html_path, json_key: json_path}, report_inputs(cfg, base, config_path))
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

exit codes:
  0    report written (the verdict is in the report, not in the exit code)
  2    invalid config, data or output path: one line naming the key, file or path and the fix
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
    ap.add_argument("--quiet", action="store_true", help="print no progress messages on stderr")
    return add_common_options(ap)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.perf_counter()

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    code, built = guarded_run(
        "causal-report", lambda: build_report(args.config, args.out, args.json_out, progress), debug=args.debug,
        exit_internal=EXIT_INTERNAL,
        interrupted="interrupted; previous outputs are unchanged unless the line above says 'wrote'")
    if code is not None:
        return code
    assert built is not None  # guarded_run returns the action's result whenever the code is None
    html_path, json_path, result = built
    to_stdout = is_stdout(html_path) or is_stdout(json_path)
    print(f"{result['decision']['verdict']}: wrote {html_path} and {json_path}",
          file=sys.stderr if to_stdout else sys.stdout)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
