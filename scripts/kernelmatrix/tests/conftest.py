import pytest


def make_report(kernel, verdicts, differs=()):
    """A minimal hinix-conform/1 report: one check per row id, with its verdict."""
    results = [{"ids": [row_id], "source": "s", "clause": "c", "kernelDiffers": row_id in differs,
                "verdict": verdict, "detail": None if verdict == "pass" else f"{row_id} on {kernel}",
                "seconds": 0.1}
               for row_id, verdict in verdicts.items()]
    summary = {v: sum(1 for x in verdicts.values() if x == v) for v in ("pass", "fail", "skip", "error")}
    return {"schema": "hinix-conform/1", "seconds": 1.0,
            "host": {"kernelRelease": kernel, "kernelVersion": "#1", "hasSysResource": True},
            "summary": summary, "results": results, "uncovered": []}


@pytest.fixture
def report():
    return make_report
