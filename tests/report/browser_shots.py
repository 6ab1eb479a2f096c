"""Screenshots of report pages in headless Chromium (Debian's ``chromium``), and where their figures are.

A probe copy of the page outlines every figure (``.figure``, ``figure.chart``) and every inline interval bar
(``.ibar``) in pure magenta, so the regions can be found in the screenshot without any script on the page.

    python tests/report/browser_shots.py PAGE.html OUT.png [WIDTH HEIGHT]   # a clean screenshot (no outlines)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0"]
PROBE_CSS = ("<style>.figure, figure.chart { outline: 2px solid #ff00ff; outline-offset: 3px; } "
             ".ibar { outline: 1px solid #ff00ff; outline-offset: 1px; }</style>")


def screenshot(html: Path, png: Path, size: tuple[int, int], profile: Path) -> list[str]:
    """Render ``html`` at ``size`` (width, height) into ``png``; returns the console lines Chromium logged."""
    png.parent.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                          f"--screenshot={png}", html.resolve().as_uri()], capture_output=True, text=True,
                         timeout=120, check=True)
    return [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def probe_copy(html: Path, out: Path) -> Path:
    """A copy of the page whose figures and inline bars are outlined in magenta (the page itself untouched)."""
    text = html.read_text()
    out.write_text(text.replace("</head>", PROBE_CSS + "</head>", 1))
    return out


def outlined_regions(rgb: np.ndarray, min_size: int = 8) -> list[tuple[slice, slice]]:
    """The inside of every magenta outline in a screenshot (row and column slices), top to bottom."""
    from scipy import ndimage

    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    mask = (r > 200) & (g < 70) & (b > 200)
    labels, _ = ndimage.label(mask)
    boxes = []
    for sl in ndimage.find_objects(labels):
        rows, cols = sl
        if rows.stop - rows.start >= min_size and cols.stop - cols.start >= min_size:
            boxes.append((slice(rows.start + 3, rows.stop - 3), slice(cols.start + 3, cols.stop - 3)))
    return sorted(boxes, key=lambda s: (s[0].start, s[1].start))


def main(argv: list[str]) -> int:
    width, height = (int(argv[2]), int(argv[3])) if len(argv) > 3 else (1100, 1500)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        screenshot(Path(argv[0]), Path(argv[1]), (width, height), Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
