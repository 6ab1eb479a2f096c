"""The example report opens in headless Chromium (Debian's chromium): it renders, logs no console errors and
its screenshot is not blank."""

import shutil
import subprocess

import numpy as np
import pytest

from recsys_causal.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")


def test_report_renders_in_headless_chromium(example_dir, tmp_path):
    from PIL import Image

    html_path, _, data = build_report(example_dir / "ab.yaml")
    profile = tmp_path / "profile"
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", html_path.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True)
    assert f'id="verdict">{data["decision"]["verdict"]}<' in dom.stdout
    assert dom.stdout.count("<svg") >= 3
    shot = tmp_path / "report.png"
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1100,1600",
                          f"--screenshot={shot}", html_path.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True)
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (1600, 1100)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005  # text and charts, not a blank page
