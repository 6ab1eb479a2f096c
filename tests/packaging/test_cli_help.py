"""``--help`` documents every option and the exit codes of both CLIs; ``--version`` prints the package version.

The expected exit codes and their meanings are the contract stated in the CLI docstrings and the README; the
tests check the help against that contract, and the contract against what the tools return.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import recsys_causal
from recsys_causal import version
from recsys_causal.gate import cli as gate_cli
from recsys_causal.report import cli as report_cli

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

# code -> a word its help line must contain (the documented meaning)
GATE_CODES = {0: "passes", 1: "fails", 3: "inconclusive", 2: "invalid", 4: "internal", 130: "interrupted"}
REPORT_CODES = {0: "written", 2: "invalid", 1: "internal", 130: "interrupted"}
CLIS = {"causal-gate": (gate_cli, GATE_CODES), "causal-report": (report_cli, REPORT_CODES)}


def run_main(module, argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        module.main(argv)
    return exc.value.code, capsys.readouterr().out


def exit_code_lines(help_text: str) -> dict[int, str]:
    section = help_text.split("exit codes:", 1)[1]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\s+(\d+)\s+(\S.*)$", section, re.MULTILINE)}


@pytest.mark.parametrize("prog", sorted(CLIS))
def test_help_documents_every_option_with_a_sentence(prog, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    module, _ = CLIS[prog]
    code, text = run_main(module, ["--help"], capsys)
    assert code == 0 and text.startswith(f"usage: {prog} ")
    actions = [a for a in module.build_parser()._actions if not isinstance(a, argparse._HelpAction)]
    assert {"--version", "--debug", "config"} <= {s for a in actions for s in (a.option_strings or [a.dest])}
    for action in actions:
        assert action.help and action.help != argparse.SUPPRESS, f"{action.option_strings or action.dest} has no help"
        assert len(action.help.split()) >= 4, f"{action.option_strings or action.dest}: help is not a sentence"
        for name in action.option_strings or [action.dest]:
            assert re.search(rf"(^|\s){re.escape(name)}\b", text), f"{name} missing from {prog} --help"


@pytest.mark.parametrize("prog", sorted(CLIS))
def test_help_lists_exactly_the_exit_codes(prog, capsys):
    module, expected = CLIS[prog]
    _, text = run_main(module, ["--help"], capsys)
    documented = exit_code_lines(text)
    assert set(documented) == set(expected)
    for code, word in expected.items():
        assert word in documented[code], (code, documented[code])


def test_exit_code_contract_matches_the_implementation():
    from recsys_causal.cli_errors import EXIT_INTERRUPTED, EXIT_USER
    from recsys_causal.gate.screen import EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_PASS

    assert (EXIT_PASS, EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_USER, gate_cli.EXIT_INTERNAL, EXIT_INTERRUPTED) == (
        0, 1, 3, 2, 4, 130)
    assert (report_cli.EXIT_OK, EXIT_USER, report_cli.EXIT_INTERNAL, EXIT_INTERRUPTED) == (0, 2, 1, 130)


@pytest.mark.parametrize(("prog", "target", "raised", "code"), [
    ("causal-gate", "_run", RuntimeError("boom"), 4),
    ("causal-gate", "_run", KeyboardInterrupt(), 130),
    ("causal-report", "build_report", RuntimeError("boom"), 1),
    ("causal-report", "build_report", KeyboardInterrupt(), 130),
])
def test_internal_error_and_interrupt_exit_codes(prog, target, raised, code, monkeypatch, tmp_path, capsys):
    module, _ = CLIS[prog]

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(module, target, fail)
    assert module.main([str(tmp_path / "any.yaml")]) == code
    assert capsys.readouterr().err.startswith(f"{prog}: ")


@pytest.mark.parametrize("prog", sorted(CLIS))
def test_missing_config_is_exit_2_naming_the_file(prog, tmp_path, capsys):
    module, _ = CLIS[prog]
    missing = tmp_path / "nope.yaml"
    assert module.main([str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{prog}: error: ") and "nope.yaml" in err and "Traceback" not in err


@pytest.mark.parametrize("prog", sorted(CLIS))
def test_version_prints_package_name_and_pyproject_version(prog, capsys):
    module, _ = CLIS[prog]
    code, text = run_main(module, ["--version"], capsys)
    assert code == 0 and text == f"recsys-causal {PYPROJECT_VERSION}\n"
    assert recsys_causal.__version__ == PYPROJECT_VERSION


def test_version_falls_back_to_pyproject_when_not_installed(monkeypatch, tmp_path):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(version.metadata, "version", not_installed)
    assert version.package_version() == PYPROJECT_VERSION
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "9.9.9"\n')
    monkeypatch.setattr(version, "_PYPROJECT", tmp_path / "pyproject.toml")
    assert version.package_version() == "unknown"  # another project's pyproject is not ours
    monkeypatch.setattr(version, "_PYPROJECT", tmp_path / "missing.toml")
    assert version.package_version() == "unknown"
