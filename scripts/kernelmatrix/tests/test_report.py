"""The matrix: verdicts per row and kernel, disagreements, man-page rows, renderings."""

import json
import os

import pytest

from kernelmatrix.common import REPO
from kernelmatrix.report import (build_matrix, catalog_rows, kernel_summary, render_markdown,
                                 render_terminal, validate_report)


def test_disagreement_and_man_page_rows(report):
    catalog = [{"number": 1, "id": "A", "needs": "—", "kernelDiffers": False},
               {"number": 2, "id": "B", "needs": "CAP", "kernelDiffers": False},
               {"number": 3, "id": "C", "needs": "—", "kernelDiffers": True},
               {"number": 4, "id": "D", "needs": "—", "kernelDiffers": False}]
    old = {"label": "5.10", "report": report("5.10", {"A": "pass", "B": "fail", "C": "pass", "D": "fail"})}
    new = {"label": "7.3", "report": report("7.3", {"A": "pass", "B": "pass", "C": "pass", "D": "fail"})}
    rows = {r["id"]: r for r in build_matrix(catalog, [old, new])}
    assert not rows["A"]["disagree"]
    assert not rows["A"]["manPage"]
    assert rows["B"]["disagree"]
    assert rows["B"]["failedOn"] == ["5.10"]
    assert rows["B"]["manPage"]
    assert not rows["C"]["disagree"]
    assert rows["C"]["manPage"], "a ⚠ row is a man-page row even where it passes"
    assert not rows["D"]["disagree"], "failing everywhere is agreement"
    assert rows["D"]["failedOn"] == ["5.10", "7.3"]


def test_a_check_that_reports_a_kernel_difference_marks_the_row(report):
    catalog = [{"number": 1, "id": "A", "needs": "—", "kernelDiffers": False}]
    entries = [{"label": "x", "report": report("x", {"A": "pass"}, differs={"A"})}]
    row = build_matrix(catalog, entries)[0]
    assert row["kernelDiffers"] and row["manPage"] and not row["failedOn"]


def test_infrastructure_error_is_not_a_verdict(report):
    catalog = [{"number": 1, "id": "A", "needs": "—", "kernelDiffers": False}]
    good = {"label": "6.1", "report": report("6.1", {"A": "pass"})}
    dead = {"label": "6.12", "report": None, "problem": "panic"}
    row = build_matrix(catalog, [good, dead])[0]
    assert row["verdicts"]["6.12"]["verdict"] is None
    assert not row["disagree"], "a kernel with no report does not disagree"
    assert row["failedOn"] == []
    summary = kernel_summary(dead)
    assert summary["status"] == "infrastructure-error" and summary["problem"] == "panic"


def test_multi_id_check_fills_every_row(report):
    catalog = [{"number": 1, "id": "A", "needs": "—", "kernelDiffers": False},
               {"number": 2, "id": "B", "needs": "—", "kernelDiffers": False}]
    r = report("x", {"A": "fail"})
    r["results"][0]["ids"] = ["A", "B"]
    rows = build_matrix(catalog, [{"label": "x", "report": r}])
    assert [row["verdicts"]["x"]["verdict"] for row in rows] == ["fail", "fail"]


def test_uncovered_rows_are_skips(report):
    catalog = [{"number": 1, "id": "A", "needs": "—", "kernelDiffers": False},
               {"number": 2, "id": "B", "needs": "—", "kernelDiffers": False}]
    r = report("x", {"A": "pass"})
    r["uncovered"] = [{"id": "B"}]
    rows = build_matrix(catalog, [{"label": "x", "report": r}])
    assert rows[1]["verdicts"]["x"]["verdict"] == "skip"


def test_markdown_and_terminal_highlights(report):
    catalog = [{"number": 1, "id": "ROW-SAME", "needs": "—", "kernelDiffers": False},
               {"number": 2, "id": "ROW-DIFF", "needs": "—", "kernelDiffers": False}]
    entries = [{"label": "5.10", "report": report("5.10", {"ROW-SAME": "pass", "ROW-DIFF": "fail"})},
               {"label": "7.3", "report": report("7.3", {"ROW-SAME": "pass", "ROW-DIFF": "pass"})}]
    matrix = {"command": "t", "date": "d", "hostCores": 2, "hostKernel": "k", "parallel": 2, "totalSeconds": 1,
              "kernels": [kernel_summary(e) for e in entries], "rows": build_matrix(catalog, entries)}
    text = render_markdown(matrix)
    disagree = text.split("## Rows where the kernels disagree")[1].split("##")[0]
    assert "ROW-DIFF" in disagree
    assert "ROW-SAME" not in disagree
    assert "**FAIL**" in disagree
    assert "ROW-DIFF on 5.10" in disagree, "the failing kernel's detail is shown"
    terminal = render_terminal(matrix)
    assert "  2 ROW-DIFF  ≠⚠  F P" in terminal.splitlines()
    assert "  1 ROW-SAME      P P" in terminal.splitlines()


def test_catalog_rows_parse():
    rows = catalog_rows()
    assert len(rows) >= 190
    assert [r["number"] for r in rows] == list(range(1, len(rows) + 1))
    assert any(r["needs"] == "CAP" for r in rows)


def test_committed_reports_match_the_schema():
    """The per-kernel reports under results/kernels pass validate_report (jsonschema)."""
    pytest.importorskip("jsonschema")  # without it, validate_report checks nothing
    directory = os.path.join(REPO, "results/kernels")
    labels = [d for d in sorted(os.listdir(directory)) if os.path.isdir(os.path.join(directory, d))]
    assert labels
    for label in labels:
        with open(os.path.join(directory, label, "report.json")) as file:
            report = json.load(file)
        assert validate_report(report) is None, label
        broken = dict(report, summary="not an object")
        assert validate_report(broken) is not None
