"""Tests of scripts/hostinfo.py and of the results folders that scripts/bench,
scripts/bench-swift and scripts/setup-and-run take from it, on fake hosts: a
directory standing in for / (HINIX_HOST_ROOT) with its own /etc/machine-id,
/proc/cpuinfo, /proc/loadavg, /proc/stat and /sys files, and HINIX_HOSTNAME."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hostinfo

SCRIPTS = Path(__file__).resolve().parents[1]
AMD = ("AuthenticAMD", "AMD EPYC 7B13 64-Core Processor")
INTEL = ("GenuineIntel", "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz")


def fake_host(directory, machine_id="0123456789abcdef0123456789abcdef", cpu=AMD, flags="fpu sse2 hypervisor",
              loadavg="0.10 0.20 0.30 1/100 4242", stat="cpu  100 0 50 1000 0 0 0 10 0 0"):
    root = Path(directory)
    files = {
        "etc/machine-id": machine_id + "\n" if machine_id else None,
        "proc/cpuinfo": "".join(f"processor\t: {n}\nvendor_id\t: {cpu[0]}\nmodel name\t: {cpu[1]}\n"
                                f"microcode\t: 0x42\nflags\t\t: {flags}\n\n" for n in range(2)),
        "proc/loadavg": loadavg + "\n",
        "proc/stat": stat + "\ncpu0 1 2 3\n",
        "proc/cmdline": "console=ttyS0 mitigations=auto\n",
        "sys/devices/system/cpu/online": "0-1\n",
        "sys/devices/system/cpu/vulnerabilities/meltdown": "Not affected\n",
        "sys/devices/system/cpu/vulnerabilities/spectre_v2": "Mitigation: Retpolines\n",
        "sys/devices/system/clocksource/clocksource0/current_clocksource": "kvm-clock\n",
        "sys/devices/system/clocksource/clocksource0/available_clocksource": "kvm-clock tsc\n",
    }
    for name, text in files.items():
        if text is not None:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
    return root


@pytest.fixture
def host(monkeypatch, tmp_path):
    """Makes a fake host and points hostinfo at it (in this process)."""
    def make(name="vm", **kwargs):
        root = fake_host(tmp_path / "root", **kwargs)
        monkeypatch.setenv("HINIX_HOST_ROOT", str(root))
        monkeypatch.setenv("HINIX_HOSTNAME", name)
        monkeypatch.delenv("HINIX_HOST_LABEL", raising=False)
        return root
    return make


def results_dirs(root, hostname="vm", label=None, extra=()):
    """The folder each script would write to on that fake host: {script: folder}."""
    env = {k: v for k, v in os.environ.items() if k != "HINIX_HOST_LABEL"}
    env.update(HINIX_HOST_ROOT=str(root), HINIX_HOSTNAME=hostname)
    if label:
        env["HINIX_HOST_LABEL"] = label
    commands = {"bench": ["bash", str(SCRIPTS / "bench")],
                "bench-swift": [sys.executable, str(SCRIPTS / "bench-swift")],
                "setup-and-run": ["bash", str(SCRIPTS / "setup-and-run")]}
    out = {}
    for name, command in commands.items():
        result = subprocess.run(command + ["--print-results-dir", *extra], env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, (name, result.stderr)
        out[name] = result.stdout.strip()
    return out


def test_same_hostname_different_machine_or_cpu_lands_in_different_folders(tmp_path):
    a = fake_host(tmp_path / "a", machine_id="a" * 32, cpu=AMD)
    b = fake_host(tmp_path / "b", machine_id="b" * 32, cpu=AMD)      # another machine, same CPU
    c = fake_host(tmp_path / "c", machine_id="a" * 32, cpu=INTEL)    # same machine id, another CPU
    folders = []
    for root in (a, b, c):
        dirs = results_dirs(root)
        assert len(set(dirs.values())) == 1, f"the three scripts disagree: {dirs}"
        folders.append(dirs["bench"])
    assert len(set(folders)) == 3, folders
    hash_a = hashlib.sha256(b"a" * 32).hexdigest()[:8]
    assert folders[0] == f"results/vm-amd-epyc-7b13-{hash_a}"
    assert folders[1] == f"results/vm-amd-epyc-7b13-{hashlib.sha256(b'b' * 32).hexdigest()[:8]}"
    assert folders[2] == f"results/vm-intel-xeon-platinum-8375c-{hash_a}"
    assert all(not f.startswith("results/vm/") and f != "results/vm" for f in folders)
    # The same host gives the same folder every time.
    assert results_dirs(a)["bench"] == folders[0]


def test_host_label_names_the_folder(tmp_path):
    root = fake_host(tmp_path / "a")
    assert set(results_dirs(root, label="amd-lab-1").values()) == {"results/amd-lab-1"}
    assert set(results_dirs(root, extra=["--host-label", "intel.2"]).values()) == {"results/intel.2"}
    env = dict(os.environ, HINIX_HOST_ROOT=str(root), HINIX_HOSTNAME="vm", HINIX_HOST_LABEL="../up")
    for command in (["bash", str(SCRIPTS / "bench")], [sys.executable, str(SCRIPTS / "bench-swift")],
                    ["bash", str(SCRIPTS / "setup-and-run")]):
        result = subprocess.run(command + ["--print-results-dir"], env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 2 and "host label '../up'" in result.stderr, (command, result)
        assert result.stdout == ""


def test_no_machine_id(host):
    host(machine_id=None)
    assert hostinfo.host_id() == "vm-amd-epyc-7b13-nomachineid"


@pytest.mark.parametrize("vendor, model, short", [
    ("AuthenticAMD", "AMD EPYC 7B13 64-Core Processor", "amd-epyc-7b13"),
    ("AuthenticAMD", "AMD EPYC", "amd-epyc"),
    ("GenuineIntel", "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "intel-xeon-platinum-8375c"),
    ("GenuineIntel", "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", "intel-core-i7-8650u"),
    ("GenuineIntel", "Common KVM processor", "intel-common-kvm"),
])
def test_cpu_short(vendor, model, short):
    assert hostinfo.cpu_short({"vendor_id": vendor, "model name": model}) == short


def test_context_reads_the_host(host):
    host(cpu=INTEL, flags="fpu sse2 hypervisor avx512f")
    ctx = hostinfo.host_context()
    assert ctx["id"] == "vm-intel-xeon-platinum-8375c-" + hashlib.sha256(b"0123456789abcdef" * 2).hexdigest()[:8]
    assert ctx["cpu_vendor"] == "GenuineIntel" and ctx["cpu_model"] == INTEL[1] and ctx["microcode"] == "0x42"
    assert ctx["cpu_flags"] == ["avx512f", "fpu", "hypervisor", "sse2"]
    assert ctx["hypervisor"]["cpuinfo_flag"] is True and ctx["hypervisor"]["systemd_detect_virt"] is None
    assert ctx["vulnerabilities"] == {"meltdown": "Not affected", "spectre_v2": "Mitigation: Retpolines"}
    assert ctx["clocksource"] == "kvm-clock" and ctx["clocksources_available"] == "kvm-clock tsc"
    assert ctx["kernel_cmdline"] == "console=ttyS0 mitigations=auto"
    assert ctx["online_cpus"] == 2


class FakeTime:
    """clock() and sleep() for wait_quiet: sleeping advances the clock, and may run a hook."""

    def __init__(self, on_sleep=None):
        self.now, self.sleeps, self.on_sleep = 0.0, [], on_sleep

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))


def test_wait_quiet_returns_at_once_on_a_quiet_host(host):
    host(loadavg="0.20 0.30 0.40 1/100 1")
    t = FakeTime()
    q = hostinfo.wait_quiet(max_wait=60, load_per_cpu=0.25, sleep=t.sleep, clock=t.clock)
    assert q["reached"] is True and t.sleeps == [] and q["threshold"] == 0.5 and q["cpus"] == 2


def test_wait_quiet_gives_up_after_max_wait_on_a_busy_host(host):
    host(loadavg="3.70 4.00 4.40 5/100 1")
    t = FakeTime()
    q = hostinfo.wait_quiet(max_wait=12, load_per_cpu=0.25, interval=5, sleep=t.sleep, clock=t.clock)
    assert q["reached"] is False and t.sleeps == [5, 5, 2] and q["waited_s"] == 12
    assert q["load1_before"] == q["load1_after"] == 3.7


def test_wait_quiet_stops_when_the_load_falls(host):
    root = host(loadavg="3.70 4.00 4.40 5/100 1")

    def calm_down(n):
        if n == 2:
            (root / "proc/loadavg").write_text("0.45 2.0 3.0 1/100 1\n")
    t = FakeTime(calm_down)
    q = hostinfo.wait_quiet(max_wait=300, load_per_cpu=0.25, interval=5, sleep=t.sleep, clock=t.clock)
    assert q["reached"] is True and len(t.sleeps) == 2 and q["load1_after"] == 0.45


def test_sampler_steal_percentage_between_samples(host):
    root = host(stat="cpu  100 0 50 1000 0 0 0 10 0 0")
    sampler = hostinfo.Sampler()
    # 200 more jiffies in all, 10 of them stolen: 5%.
    (root / "proc/stat").write_text("cpu  200 0 50 1090 0 0 0 20 0 0\n")
    (root / "proc/loadavg").write_text("2.50 2.00 1.50 3/100 1\n")
    s = sampler.take()
    assert s["steal_pct"] == 5.0 and s["load1"] == 2.5 and s["runnable"] == 3 and "t" in s


def test_merge_adds_host_and_load_to_a_result(host, tmp_path):
    host()
    result = {"context": {"hinix_version": "x"}, "benchmarks": [
        {"name": "BM_A", "run_type": "iteration", "host_load1": 1.0, "host_steal_pct": 0.0},
        {"name": "BM_A", "run_type": "iteration", "host_load1": 3.0, "host_steal_pct": 2.5},
        {"name": "BM_A_median", "run_type": "aggregate", "host_load1": 9.0}]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(result))
    quiet = {"reached": False, "waited_s": 180}
    samples = [{"t": 1, "load1": 2.0, "steal_pct": 0.5}, {"t": 2, "load1": 4.0, "steal_pct": 1.5}]
    hostinfo.merge(str(path), quiet, samples)
    ctx = json.loads(path.read_text())["context"]
    assert ctx["hinix_version"] == "x" and ctx["host_id"] == ctx["host"]["id"] == hostinfo.host_id()
    load = ctx["load"]
    assert load["quiet_wait"] == quiet and load["samples"] == samples
    assert load["per_repetition"]["load1"] == {"n": 2, "min": 1.0, "median": 2.0, "max": 3.0}
    assert load["per_repetition"]["steal_pct"]["max"] == 2.5
    assert load["sampled"]["load1"]["max"] == 4.0 and load["sampled"]["steal_pct"]["median"] == 1.0


def test_sampler_process_writes_timestamped_lines(host, tmp_path):
    root = host()
    out = tmp_path / "samples.jsonl"
    env = dict(os.environ, HINIX_HOST_ROOT=str(root))
    p = subprocess.Popen([sys.executable, str(SCRIPTS / "hostinfo.py"), "sample", str(out), "--interval", "0.05"],
                         env=env)
    try:
        for _ in range(600):
            if len(hostinfo.read_samples(out)) >= 2:
                break
            subprocess.run(["sleep", "0.1"])
    finally:
        p.kill()
        p.wait()
    samples = hostinfo.read_samples(out)
    assert len(samples) >= 2 and samples[0]["t"] <= samples[1]["t"]
    assert samples[0]["load1"] == 0.1 and samples[0]["runnable"] == 1
