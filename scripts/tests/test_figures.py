"""Every committed figure (results/**/*.svg, *.png) is made by a command written in
the README, and that command still makes it."""

import glob
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
# scripts/bench-compare A.json B.json [\ newline] --plot results/....svg
COMMAND = re.compile(r"scripts/bench-compare((?:\s+results/\S+\.json)+)\s*\\?\s*--plot\s+(results/\S+\.(?:svg|png))")


def readme_commands():
    """Figure stem (results/x/name) -> the result files of the README command that makes it."""
    text = (REPO / "README.md").read_text()
    return {os.path.splitext(plot)[0]: inputs.split() for inputs, plot in COMMAND.findall(text)}


def committed_figures():
    return sorted(os.path.relpath(p, REPO) for ext in ("svg", "png")
                  for p in glob.glob(str(REPO / "results" / "**" / f"*.{ext}"), recursive=True))


def drawing(path):
    """What an SVG shows, as text: every <text> and every group id, in order."""
    root = ET.parse(path).getroot()
    return ([t.text for t in root.iter(f"{SVG}text")],
            [g.get("id") for g in root.iter(f"{SVG}g") if re.match(r"(panel|series|legend)", g.get("id", ""))])


def test_there_are_committed_figures_and_each_has_its_command():
    figures = committed_figures()
    assert figures, "no figure under results/"
    commands = readme_commands()
    for figure in figures:
        stem = os.path.splitext(figure)[0]
        assert stem in commands, f"{figure}: no `scripts/bench-compare ... --plot {stem}.svg` in the README"
        assert os.path.exists(REPO / f"{stem}.svg") and os.path.exists(REPO / f"{stem}.png"), stem


@pytest.mark.parametrize("stem", sorted(readme_commands()))
def test_readme_command_remakes_the_committed_figure(stem, tmp_path):
    inputs = readme_commands()[stem]
    plot = tmp_path / "figure.svg"
    result = subprocess.run([sys.executable, str(REPO / "scripts/bench-compare"), *inputs, "--plot", str(plot)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert drawing(plot) == drawing(REPO / f"{stem}.svg")
    assert (tmp_path / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
