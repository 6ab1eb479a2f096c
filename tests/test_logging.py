"""The recsys_causal logger hierarchy and what the CLIs print on stderr: progress steps and data-quality counts
at INFO, caveats as one log line each (never a Python warning with its source line), --quiet / --verbose."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import yaml

import recsys_causal
from recsys_causal.cli_logging import cli_logging, log_counts
from recsys_causal.gate.cli import main as gate_main
from recsys_causal.report.cli import build_parser as report_parser
from recsys_causal.report.cli import main as report_main

ROOT = Path(__file__).resolve().parents[1]
COUNTS = re.compile(r"(\w[\w ]*?) (\d+)")


def _counts(line: str) -> dict[str, int]:
    """``label: read 10, used 8 (...), excluded 2 (a: 1, b: 1)`` → top-level counts (breakdowns left out)."""
    body = re.sub(r"\([^)]*\)", "", line.split(": ", 2)[-1])
    return {k.strip(): int(v) for k, v in COUNTS.findall(body)}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The shipped examples, made fast: the screen keeps one candidate and IPS / SNIPS (no reward model), the
    A/B report keeps its readout and that screen (no novelty, no segments)."""
    out = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "reports" / "examples", out / "reports" / "examples")
    shutil.copytree(ROOT / "decision_logs", out / "decision_logs")
    examples = out / "reports" / "examples"
    screen = yaml.safe_load((examples / "screen.yaml").read_text())
    screen.update(candidates=screen["candidates"][1:], estimator="IPS", cross_check=["SNIPS"], guardrails=[],
                  protected_segments=[])
    (examples / "screen.yaml").write_text(yaml.safe_dump(screen))
    ab = yaml.safe_load((examples / "ab.yaml").read_text())
    for key in ("novelty", "segments", "covariates"):
        ab.pop(key)
    (examples / "ab.yaml").write_text(yaml.safe_dump(ab))
    return examples


def test_the_package_logger_has_a_null_handler_and_modules_log_below_it():
    handlers = logging.getLogger("recsys_causal").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)
    from recsys_causal.gate import cli

    assert cli.LOG.name == "recsys_causal.gate.cli" and cli.LOG.parent.name.startswith("recsys_causal")
    assert recsys_causal.__name__ == "recsys_causal"


def test_log_counts_reconciles_breakdowns(caplog):
    caplog.set_level(logging.INFO, logger="recsys_causal")
    log_counts(logging.getLogger("recsys_causal.t"), "data x", {"read": 10, "used": 7,
                                                              "quarantined": {"bad_id": 2, "dup": 0},
                                                              "excluded": {"immature": 1}})
    assert caplog.messages == ["data x: read 10, used 7, quarantined 2 (bad_id: 2), excluded 1 (immature: 1)"]


def test_cli_logging_restores_the_logger_and_the_warning_hook():
    logger = logging.getLogger("recsys_causal")
    before = (logger.level, list(logger.handlers))
    import warnings

    hook = warnings.showwarning
    with cli_logging("x", verbose=True):
        assert logger.level == logging.DEBUG
    assert (logger.level, list(logger.handlers)) == before and warnings.showwarning is hook


def test_report_cli_logs_steps_counts_and_caveats_on_stderr(project, tmp_path, capsys):
    code = report_main([str(project / "ab.yaml"), "--out", str(tmp_path / "r.html"), "--json",
                        str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert code == 0
    lines = err.splitlines()
    assert all(line.startswith("causal-report: ") for line in lines), err
    assert any(re.match(r"causal-report: \[ *[\d.]+s\] reading decision log sample_ab_decision_log", x) for x in lines)
    # caveats are one log line each, never Python's "file:line: Category: message" form
    assert "causal-report: warning: " in err and "(SupportWarning)" in err
    assert not re.search(r"\.py:\d+: \w*Warning", err)
    data = json.loads((tmp_path / "r.json").read_text())["data_quality"]
    um = data["unit_metrics"]
    line = next(x for x in lines if "] unit metrics: " in x)
    got = _counts(line)
    assert got == {"requests read": um["requests_read"], "used": um["requests_used"], "quarantined": 0,
                   "excluded": sum(um["requests_excluded"].values()), "units": um["units"]}
    # read = used + quarantined + excluded, from the logged line alone
    assert got["requests read"] == got["used"] + got["quarantined"] + got["excluded"]


def test_report_cli_quiet_prints_nothing_but_the_result(project, tmp_path, capsys):
    code = report_main([str(project / "holdout.yaml"), "--quiet", "--out", str(tmp_path / "r.html"), "--json",
                        str(tmp_path / "r.json")])
    captured = capsys.readouterr()
    assert code == 0 and captured.err == "" and "wrote" in captured.out


def test_quiet_and_verbose_exclude_each_other_and_are_documented(capsys):
    help_text = report_parser().format_help()
    assert "--quiet" in help_text and "--verbose" in help_text
    with pytest.raises(SystemExit) as exc:
        report_main(["x.yaml", "--quiet", "--verbose"])
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_gate_cli_logs_the_accounting_of_every_request(project, tmp_path, capsys):
    code = gate_main([str(project / "screen.yaml"), "--json", str(tmp_path / "g.json")])
    err = capsys.readouterr().err
    assert code in (0, 1, 3)
    q = json.loads((tmp_path / "g.json").read_text())["data_quality"]
    lines = err.splitlines()
    read = _counts(next(x for x in lines if "] log sample_decision_log.parquet: " in x))
    assert read == {"requests read": q["requests_read"], "quarantined": q["quarantined_total"]}
    for r in q["rewards"]:
        got = _counts(next(x for x in lines if f"] log reward {r['reward']} ({r['role']}): " in x))
        assert got == {"used": r["used"], "excluded": r["excluded_total"]}
        assert read["requests read"] == got["used"] + read["quarantined"] + got["excluded"]
    assert "causal-gate: warning: bold-top1: support is weak" in err and "Traceback" not in err


def test_gate_progress_goes_through_the_module_logger(project, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="recsys_causal")
    gate_main([str(project / "screen.yaml"), "--quiet", "--json", str(tmp_path / "g.json")])
    # --quiet raises the package logger's level, so nothing reaches caplog at INFO
    assert not [r for r in caplog.records if r.levelno < logging.ERROR]
    caplog.clear()
    from recsys_causal.gate.cli import run_config
    from recsys_causal.gate.config import load_gate_config

    run_config(*load_gate_config(project / "screen.yaml"))
    names = {(r.name, r.getMessage().split(" ")[0]) for r in caplog.records if r.levelno == logging.INFO}
    assert ("recsys_causal.gate.cli", "reading") in names and ("recsys_causal.gate.cli", "screening") in names


def test_a_caveat_made_an_error_by_W_is_exit_2_with_one_line(project, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-W", "error::recsys_causal.SupportWarning", "-m", "recsys_causal.gate",
                          str(project / "screen.yaml"), "--json", str(tmp_path / "g.json")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 2 and not (tmp_path / "g.json").exists()
    assert "causal-gate: error: SupportWarning: bold-top1: support is weak" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("flag", ["--verbose", None])
def test_verbose_adds_the_inputs_and_outputs(project, tmp_path, capsys, flag):
    argv = [str(project / "holdout.yaml"), "--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")]
    assert report_main(argv + ([flag] if flag else [])) == 0
    err = capsys.readouterr().err
    assert ("] inputs: config=" in err and f"--out={tmp_path / 'r.html'}" in err) is (flag is not None)
    assert "] analysing the holdout" in err
