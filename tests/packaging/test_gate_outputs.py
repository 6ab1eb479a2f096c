"""``causal-gate`` writes exactly the outputs named on the command line or in the YAML, and nothing else.

Each test snapshots every file and directory under a scratch project (inputs, config, working directory) with
its size and modification time, runs the gate, and compares: the only differences allowed are the files that
were asked for (and the directories that hold them); no input changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from recsys_causal.gate.cli import main
from recsys_causal.schemas import load_schema


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            out[path.relative_to(root).as_posix()] = ("d" if path.is_dir() else "f", st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def screen(project: Path, monkeypatch) -> Path:
    """The example screen config without its ``output:`` section, run from the project root."""
    config = project / "reports" / "examples" / "screen.yaml"
    cfg = yaml.safe_load(config.read_text())
    del cfg["output"]
    config.write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(project)
    return config


def run_gate(project: Path, argv: list[str], capsys) -> tuple[int, set[str], str]:
    before = snapshot(project)
    code = main(argv)
    after = snapshot(project)
    changed = {k for k in before if k in after and after[k] != before[k] and after[k][0] == "f"}
    assert not changed, f"the gate modified {sorted(changed)}"
    assert set(before) <= set(after), f"the gate removed {sorted(set(before) - set(after))}"
    return code, set(after) - set(before), capsys.readouterr().out


def test_nothing_asked_for_writes_no_file(screen, project, capsys):
    code, new, out = run_gate(project, [str(screen)], capsys)
    assert code in (0, 1, 3)
    assert new == set()
    assert "## OPE screen" in out  # the summary goes to stdout only


def test_writes_only_the_command_line_output(screen, project, capsys):
    code, new, out = run_gate(project, [str(screen), "--json", "res/gate.json"], capsys)
    assert new == {"res", "res/gate.json"}
    data = json.loads((project / "res" / "gate.json").read_text())
    assert data["exit_code"] == code
    jsonschema.validate(data, load_schema("gate"))
    assert "## OPE screen" in out


def test_command_line_replaces_the_config_path_and_config_outputs_are_kept(screen, project, capsys):
    cfg = yaml.safe_load(screen.read_text())
    cfg["output"] = {"json": "../cfg/screen.json", "markdown": "../cfg/screen.md"}
    screen.write_text(yaml.safe_dump(cfg))
    _, new, out = run_gate(project, [str(screen), "--json", "cli.json", "--html", "-"], capsys)
    # --json replaces output.json; output.markdown stays; --html goes to stdout instead of the summary
    assert new == {"cli.json", "reports/cfg", "reports/cfg/screen.md"}
    assert out.lstrip().lower().startswith("<!doctype html>") and "## OPE screen" not in out
