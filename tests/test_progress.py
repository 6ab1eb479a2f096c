"""Progress bars: shown when someone watches (a terminal or a Jupyter kernel), off when asked (progress=False,
RECSYS_CAUSAL_PROGRESS=0, the CLIs' --quiet), on long steps (bootstrap, CATE fit, randomization draws, report
sections)."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tqdm.auto import tqdm

from recsys_causal import progress
from recsys_causal.progress import asked, enabled, quiet, track

ROOT = Path(__file__).resolve().parents[1]


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, []

    def isatty(self) -> bool:
        return self.tty

    def write(self, s: str) -> int:
        self.text.append(s)
        return len(s)

    def flush(self) -> None:
        pass


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    monkeypatch.delitem(sys.modules, "IPython", raising=False)


@pytest.mark.parametrize("tty", [True, False])
def test_detection_follows_whether_stderr_is_a_terminal(no_env, monkeypatch, tty):
    monkeypatch.setattr(sys, "stderr", _Stream(tty))
    assert enabled() is tty


def test_a_jupyter_kernel_counts_as_watched(no_env, monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Stream(False))
    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert enabled()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert not enabled()


def test_precedence_argument_then_block_then_environment_then_detection(no_env, monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Stream(True))
    monkeypatch.setenv(progress.ENV, "0")
    assert not enabled() and enabled(True)
    monkeypatch.setenv(progress.ENV, "1")
    monkeypatch.setattr(sys, "stderr", _Stream(False))
    assert enabled()
    with quiet():
        assert not enabled() and enabled(True)
        with asked(None):  # no opinion: the enclosing block still holds
            assert not enabled()
    with asked(True):
        monkeypatch.setenv(progress.ENV, "0")
        assert enabled()


def test_track_is_the_iterable_itself_when_off_and_a_bar_when_on(no_env, monkeypatch):
    data = [1, 2, 3]
    assert track(data, desc="x", progress=False) is data
    stream = _Stream(True)
    monkeypatch.setattr(sys, "stderr", stream)
    bar = track(data, desc="resamples", progress=True)
    assert isinstance(bar, tqdm) and list(bar) == data
    assert "resamples" in "".join(stream.text)


def _log():
    from recsys_causal.logs import read_decision_log
    from recsys_causal.simulate import simulate_decision_log

    frame = simulate_decision_log(n_requests=300, n_candidates=4, slate_size=1, epsilon=0.3, seed=2).log
    return read_decision_log(frame.to_long_frame(), require_propensity=True).log


@pytest.mark.parametrize("setting", [True, False, None])
def test_evaluate_policies_bootstrap_bar_follows_progress(no_env, monkeypatch, capsys, setting):
    import warnings

    from recsys_causal.ope import evaluate_policies
    from recsys_causal.scale import TopK

    log = _log()
    monkeypatch.setenv(progress.ENV, "1")  # the argument wins over the environment; None defers to it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluate_policies(log, {"top": TopK("pred_new")}, estimators=["IPS"], bootstrap=50, progress=setting)
    shown = "bootstrap IPS" in capsys.readouterr().err
    assert shown is (setting is not False)


def test_cate_fit_shows_its_steps(no_env, capsys):
    from recsys_causal.hte import fit_cate

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=400), "t": rng.integers(0, 2, 400)})
    frame["y"] = frame["x"] * frame["t"] + rng.normal(size=400)
    fit_cate(frame, outcome="y", treatment="t", covariates=["x"], treatment_probability=0.5, method="linear",
             progress=True)
    err = capsys.readouterr().err
    assert "CATE (linear)" in err and "3/3" in err


def test_cli_quiet_turns_bars_off_even_when_the_environment_asks(tmp_path, monkeypatch, capsys):
    from recsys_causal.report.cli import main

    shutil.copytree(ROOT / "reports" / "examples", tmp_path / "reports" / "examples")
    shutil.copytree(ROOT / "decision_logs", tmp_path / "decision_logs")
    cfg = tmp_path / "reports" / "examples" / "holdout.yaml"
    monkeypatch.setenv(progress.ENV, "1")
    out = ["--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")]
    assert main([str(cfg), *out]) == 0
    assert "report sections" in capsys.readouterr().err
    assert main([str(cfg), "--quiet", *out]) == 0
    assert capsys.readouterr().err == ""
