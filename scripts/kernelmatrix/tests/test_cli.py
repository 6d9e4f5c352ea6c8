"""scripts/kernel-matrix's command line, run as a program; no kernel is booted."""

import json
import os
import shutil
import subprocess
import sys

from kernelmatrix.common import REPO

SCRIPT = os.path.join(REPO, "scripts/kernel-matrix")


def run(*arguments):
    return subprocess.run([sys.executable, SCRIPT, *arguments], capture_output=True, text=True, timeout=120)


def test_help():
    result = run("--help")
    assert result.returncode == 0
    for part in ["usage: scripts/kernel-matrix", "--smoke", "--list", "--report-only", "--self-test",
                 "Exit status", "examples:"]:
        assert part in result.stdout, part


def test_bad_arguments_are_usage_errors():
    assert run("--frobnicate").returncode == 2
    result = run("--parallel", "0", "--report-only")
    assert result.returncode == 2 and "--parallel" in result.stderr


def test_report_only_rebuilds_the_committed_matrix(tmp_path):
    out = tmp_path / "kernels"
    shutil.copytree(os.path.join(REPO, "results/kernels"), out)
    committed = json.loads((out / "matrix.json").read_text())
    (out / "matrix.md").unlink()
    result = run("--report-only", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rebuilt = json.loads((out / "matrix.json").read_text())
    assert [k["label"] for k in rebuilt["kernels"]] == [k["label"] for k in committed["kernels"]]
    assert [k["summary"] for k in rebuilt["kernels"]] == [k["summary"] for k in committed["kernels"]]
    assert rebuilt["rows"] == committed["rows"]
    assert rebuilt["date"] == committed["date"]
    assert "## Rows where the kernels disagree" in (out / "matrix.md").read_text()
    assert "Rows where the kernels disagree" in result.stdout
    for k in committed["kernels"]:
        assert k["label"] in result.stdout


def test_python_m_kernelmatrix_is_the_same_program():
    result = subprocess.run([sys.executable, "-m", "kernelmatrix", "--help"], capture_output=True, text=True,
                            cwd=os.path.join(REPO, "scripts"), timeout=60)
    assert result.returncode == 0 and "--report-only" in result.stdout
