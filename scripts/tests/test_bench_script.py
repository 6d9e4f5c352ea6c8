"""scripts/bench end to end, on the hinix-bench binary already built in .build-bench
(skipped when it is not there: `swift build --package-path Bench/Runner --scratch-path
.build-bench -c release` builds it). One benchmark, 2 repetitions, scaled down."""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINARY = REPO / ".build-bench" / "release" / "hinix-bench"

pytestmark = pytest.mark.skipif(not os.access(BINARY, os.X_OK), reason=f"{BINARY} is not built")


def test_every_repetition_carries_load_and_steal_and_the_context_the_host(tmp_path):
    out = tmp_path / "run.json"
    env = {k: v for k, v in os.environ.items() if k != "HINIX_HOST_LABEL"}
    env["HINIX_HOST_LABEL"] = "test-host"
    result = subprocess.run(
        ["bash", str(REPO / "scripts/bench"), "--no-build", "--filter", "BM_(Floor|Shim)_EventfdWriteRead$",
         "--repetitions", "2", "--min-time", "0.01", "--quiet-wait", "0", "--out", str(out),
         "--", "--hinix_iteration_scale=0.01"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "threshold" in result.stderr and ("quiet" in result.stderr)
    data = json.loads(out.read_text())
    runs = [b for b in data["benchmarks"] if b.get("run_type") == "iteration"]
    assert len(runs) == 4
    for b in runs:
        assert isinstance(b["host_load1"], float) and b["host_load1"] >= 0, b
        assert 0 <= b["host_steal_pct"] <= 100, b
    ctx = data["context"]
    assert ctx["host_id"] == "test-host" and ctx["host"]["id"] == "test-host"
    assert ctx["host"]["id_from"] == "label"
    for field in ("cpu_model", "cpu_flags", "vulnerabilities", "hypervisor", "clocksource", "kernel_cmdline"):
        assert field in ctx["host"], field
    load = ctx["load"]
    assert load["quiet_wait"]["max_wait_s"] == 0 and isinstance(load["quiet_wait"]["reached"], bool)
    assert load["per_repetition"]["load1"]["n"] == 4
    assert load["per_repetition"]["load1"]["max"] == max(b["host_load1"] for b in runs)
    assert isinstance(load["samples"], list)
