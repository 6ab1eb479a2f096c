"""``causal-report experiment.yaml [--out PATH] [--json PATH] [--debug]``.

Exit codes: 0 report written; 2 invalid config or data (a clear message, no traceback unless ``--debug``);
1 an unexpected internal error. Progress goes to stderr; outputs are written atomically.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from recsys_causal.errors import InputFileError, RecsysCausalError

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2


def build_report(config_path: str | Path, out: str | Path | None = None, json_out: str | Path | None = None,
                 progress=None) -> tuple[Path, Path, dict]:
    """Run the plan and write HTML and JSON; returns their paths and the report data."""
    from recsys_causal.io_utils import atomic_write_text
    from recsys_causal.report.analysis import run_plan
    from recsys_causal.report.config import load_config
    from recsys_causal.report.render import render_html

    progress = progress or (lambda _: None)
    cfg, base = load_config(config_path)
    result = run_plan(cfg, base, Path(config_path).read_bytes(), progress)
    html_path = Path(out) if out else (base / cfg.output.html).resolve()
    json_path = Path(json_out) if json_out else (base / cfg.output.json_path).resolve()
    progress("rendering HTML")
    page = render_html(result)
    data = {k: v for k, v in result.items() if k != "figures"}
    text = json.dumps(data, indent=2, allow_nan=False, default=str)
    for p in (html_path, json_path):
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputFileError(f"cannot create output directory: {exc.strerror}", source=str(p.parent),
                                 fix="choose a writable output path") from exc
    atomic_write_text(json_path, text)
    try:
        atomic_write_text(html_path, page)
    except BaseException:
        json_path.unlink(missing_ok=True)  # no partial output: both files or neither
        raise
    return html_path, json_path, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="causal-report", description="Write an experiment report (HTML + JSON).")
    ap.add_argument("config", help="experiment.yaml")
    ap.add_argument("--out", help="HTML output path (default: output.html in the YAML, relative to it)")
    ap.add_argument("--json", dest="json_out", help="JSON output path (default: output.json in the YAML)")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    ap.add_argument("--quiet", action="store_true", help="no progress messages")
    args = ap.parse_args(argv)
    start = time.perf_counter()

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    try:
        html_path, json_path, result = build_report(args.config, args.out, args.json_out, progress)
    except RecsysCausalError as exc:
        if args.debug:
            raise
        print(f"causal-report: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except Exception as exc:  # noqa: BLE001 - reported with exit 1; --debug shows the traceback
        if args.debug:
            raise
        print(f"causal-report: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL
    print(f"{result['decision']['verdict']}: wrote {html_path} and {json_path}")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
