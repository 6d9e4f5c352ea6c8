#!/usr/bin/env python3
"""Which host a result comes from, what can explain a difference between hosts,
and how loaded the host was: shared by scripts/bench, scripts/bench-swift and
scripts/setup-and-run. Only the Python standard library.

  python3 scripts/hostinfo.py id                the results folder name of this host
  python3 scripts/hostinfo.py context           JSON: CPU, flags, mitigations, hypervisor,
                                                clocksource, kernel command line
  python3 scripts/hostinfo.py wait-quiet [--max-wait S] [--load-per-cpu X]
                                                waits (bounded) until the 1-minute load
                                                is below X per online CPU; JSON on stdout
  python3 scripts/hostinfo.py sample FILE [--interval S]
                                                appends a JSON line per sample (time, load,
                                                runnable tasks, steal %) to FILE until killed
  python3 scripts/hostinfo.py merge RESULT.json [--quiet-wait Q.json] [--samples FILE]
                                                adds the host context, the quiet wait and
                                                the load samples to RESULT.json's context

Host id: HINIX_HOST_LABEL (or --host-label NAME) when set; otherwise
<hostname>-<cpu>-<machine>, e.g. vm-amd-epyc-1a2b3c4d: `uname -n`, the CPU's
vendor and model from /proc/cpuinfo shortened to lower-case words, and the first
8 hex digits of the SHA-256 of /etc/machine-id (hashed: machine-id(5) asks that
the id itself is not published). Every machine of this project is called `vm`,
so the host name alone would put them all in one folder.

Every file is read under HINIX_HOST_ROOT (default /), and HINIX_HOSTNAME
replaces `uname -n`, so that tests can give fake /etc/machine-id, /proc/cpuinfo,
/proc/loadavg, /proc/stat and /sys files.
"""

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
QUIET_LOAD_PER_CPU = 0.25  # before a run: quiet when the 1-minute load is below this per CPU
QUIET_MAX_WAIT = 180       # seconds; the 1-minute load needs about 2 minutes to fall from 4 to 0.5


class HostError(Exception):
    pass


def root():
    return os.environ.get("HINIX_HOST_ROOT") or "/"


def path(p):
    return os.path.join(root(), p.lstrip("/"))


def read(p):
    """The file's text, stripped; None when it cannot be read."""
    try:
        with open(path(p), encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def hostname():
    return os.environ.get("HINIX_HOSTNAME") or platform.node() or "host"


# MARK: - The host id


def cpuinfo():
    """The first processor's fields of /proc/cpuinfo (key -> value)."""
    fields = {}
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if not line.strip():
            if fields:
                break
            continue
        k, _, v = line.partition(":")
        fields.setdefault(k.strip(), v.strip())
    return fields


VENDORS = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "hygon",
           "CentaurHauls": "centaur"}


def cpu_short(info):
    """A short lower-case CPU name: 'AMD EPYC 7B13 64-Core Processor' -> 'amd-epyc-7b13',
    'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz' -> 'intel-xeon-platinum-8375c'."""
    vendor = VENDORS.get(info.get("vendor_id", ""), info.get("vendor_id", "").lower())
    model = info.get("model name") or info.get("cpu model") or info.get("Model") or ""
    model = re.sub(r"\((r|tm)\)", " ", model, flags=re.I)
    model = re.sub(r"@.*$", " ", model)
    model = re.sub(r"\b(\d+-core|cpu|processor|with radeon.*)\b", " ", model, flags=re.I)
    words = re.findall(r"[a-z0-9]+", model.lower())
    if not words and "CPU implementer" in info:  # arm64: no model name
        words = ["arm", info["CPU implementer"].lower(), info.get("CPU part", "").lower()]
    vendor = re.sub(r"[^a-z0-9]+", "", vendor)
    if vendor and (not words or words[0] != vendor):
        words.insert(0, vendor)
    short = "-".join(w for w in words if w)[:32].strip("-")
    return short or re.sub(r"[^a-z0-9]+", "", platform.machine().lower()) or "cpu"


def machine_hash():
    """The first 8 hex digits of SHA-256 of /etc/machine-id (or dbus's copy); None without one."""
    for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        text = read(p)
        if text:
            return hashlib.sha256(text.encode()).hexdigest()[:8]
    return None


def check_label(label):
    if not LABEL.match(label):
        raise HostError(f"host label '{label}': use 1 to 100 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit (it names a folder under results/)")
    return label


def host_id(label=None):
    """The folder name under results/ of this host (see the module's docstring)."""
    label = label or os.environ.get("HINIX_HOST_LABEL")
    if label:
        return check_label(label)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", hostname()).strip("-.") or "host"
    return f"{name}-{cpu_short(cpuinfo())}-{machine_hash() or 'nomachineid'}"


# MARK: - The host context


def hypervisor(info):
    detect = None
    if root() == "/" and shutil.which("systemd-detect-virt"):
        try:
            out = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True, timeout=10)
            detect = out.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            detect = None
    flags = info.get("flags", "").split()
    return {"cpuinfo_flag": "hypervisor" in flags, "sys_hypervisor_type": read("/sys/hypervisor/type"),
            "systemd_detect_virt": detect}


def vulnerabilities():
    directory = path("/sys/devices/system/cpu/vulnerabilities")
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    return {n: read(f"/sys/devices/system/cpu/vulnerabilities/{n}") for n in names}


def online_cpus():
    text = read("/sys/devices/system/cpu/online")
    if text:
        count = 0
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            count += int(hi or lo) - int(lo) + 1
        return count
    return os.cpu_count() or 1


def host_context(label=None):
    """What can explain a difference between hosts: one object for the result files."""
    info = cpuinfo()
    return {
        "id": host_id(label),
        "id_from": "label" if (label or os.environ.get("HINIX_HOST_LABEL")) else "hostname-cpu-machineid",
        "hostname": hostname(),
        "machine_id_sha256_8": machine_hash(),
        "cpu_vendor": info.get("vendor_id"),
        "cpu_model": info.get("model name"),
        "cpu_family": info.get("cpu family"),
        "cpu_model_number": info.get("model"),
        "cpu_stepping": info.get("stepping"),
        "microcode": info.get("microcode"),
        "online_cpus": online_cpus(),
        "cpu_flags": sorted(set(info.get("flags", "").split())) or None,
        "hypervisor": hypervisor(info),
        "vulnerabilities": vulnerabilities(),
        "clocksource": read("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
        "clocksources_available": read("/sys/devices/system/clocksource/clocksource0/available_clocksource"),
        "kernel_cmdline": read("/proc/cmdline"),
        "kernel_release": platform.release() if root() == "/" else read("/proc/sys/kernel/osrelease"),
    }


# MARK: - Load and steal


def loadavg():
    """(load1, load5, load15, runnable tasks) from /proc/loadavg; None when unreadable."""
    text = read("/proc/loadavg")
    try:
        parts = text.split()
        return float(parts[0]), float(parts[1]), float(parts[2]), int(parts[3].split("/")[0])
    except (AttributeError, IndexError, ValueError):
        return None


def cpu_jiffies():
    """(steal, total) jiffies of all CPUs from /proc/stat's "cpu" line; None when unreadable."""
    for line in (read("/proc/stat") or "").splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:]]
            values += [0] * (8 - len(values))
            return values[7], sum(values[:8])  # user nice system idle iowait irq softirq steal
    return None


def wait_quiet(max_wait=QUIET_MAX_WAIT, load_per_cpu=QUIET_LOAD_PER_CPU, interval=5.0,
               sleep=time.sleep, clock=time.monotonic, progress=None):
    """Waits until the 1-minute load is below load_per_cpu x online CPUs, at most max_wait s.
    Returns what happened (recorded in the result's context)."""
    cpus = online_cpus()
    threshold = load_per_cpu * cpus
    start = clock()
    first = loadavg()
    now = first
    while True:
        waited = clock() - start
        if now is None or now[0] < threshold or waited >= max_wait:
            break
        if progress:
            progress(f"load {now[0]:.2f} on {cpus} CPUs, waiting for < {threshold:.2f} "
                     f"({waited:.0f}/{max_wait:g} s)")
        sleep(min(interval, max_wait - waited))
        now = loadavg()
    return {"max_wait_s": max_wait, "load_per_cpu_below": load_per_cpu, "cpus": cpus,
            "threshold": threshold, "waited_s": round(clock() - start, 1),
            "reached": now is not None and now[0] < threshold,
            "load1_before": first[0] if first else None, "load1_after": now[0] if now else None}


class Sampler:
    """One sample per call of take(): time, load averages, runnable tasks and the steal
    percentage of all CPU time since the previous sample."""

    def __init__(self):
        self.previous = cpu_jiffies()

    def take(self):
        load, jiffies = loadavg(), cpu_jiffies()
        sample = {"t": round(time.time(), 3)}
        if load:
            sample.update(load1=load[0], load5=load[1], load15=load[2], runnable=load[3])
        if jiffies and self.previous and jiffies[1] > self.previous[1]:
            sample["steal_pct"] = round(100 * (jiffies[0] - self.previous[0])
                                        / (jiffies[1] - self.previous[1]), 3)
        self.previous = jiffies or self.previous
        return sample


def sample_forever(out, interval):
    sampler = Sampler()
    with open(out, "a", encoding="utf-8") as f:
        while True:
            f.write(json.dumps(sampler.take()) + "\n")
            f.flush()
            time.sleep(interval)


def read_samples(p):
    samples = []
    try:
        with open(p, encoding="utf-8") as f:
            for line in f:
                try:
                    samples.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # the last line of a killed sampler may be cut
    except OSError:
        pass
    return samples


def summarise(values):
    values = sorted(v for v in values if isinstance(v, (int, float)))
    if not values:
        return None
    n = len(values)
    med = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return {"n": n, "min": values[0], "median": med, "max": values[-1]}


def load_record(result, quiet=None, samples=()):
    """context.load of a result: the quiet wait, the sampler's timeline and summaries of it
    and of the per-repetition counters host_load1 and host_steal_pct."""
    runs = [b for b in result.get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
    return {
        "quiet_wait": quiet,
        "per_repetition": {"load1": summarise(b.get("host_load1") for b in runs),
                           "steal_pct": summarise(b.get("host_steal_pct") for b in runs)},
        "sampled": {"load1": summarise(s.get("load1") for s in samples),
                    "runnable": summarise(s.get("runnable") for s in samples),
                    "steal_pct": summarise(s.get("steal_pct") for s in samples)},
        "samples": list(samples),
    }


def merge(result_path, quiet=None, samples=(), label=None):
    with open(result_path, encoding="utf-8") as f:
        result = json.load(f)
    context = result.setdefault("context", {})
    context["host"] = host_context(label)
    context["host_id"] = context["host"]["id"]
    context["load"] = load_record(result, quiet, samples)
    temporary = result_path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(temporary, result_path)
    return result


# MARK: - Command line


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="hostinfo.py", description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--host-label", help="the host id to use (else HINIX_HOST_LABEL, else "
                    "<hostname>-<cpu>-<machine>)")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("id")
    sub.add_parser("context")
    w = sub.add_parser("wait-quiet")
    w.add_argument("--max-wait", type=float, default=QUIET_MAX_WAIT)
    w.add_argument("--load-per-cpu", type=float, default=QUIET_LOAD_PER_CPU)
    s = sub.add_parser("sample")
    s.add_argument("file")
    s.add_argument("--interval", type=float, default=1.0)
    m = sub.add_parser("merge")
    m.add_argument("result")
    m.add_argument("--quiet-wait", metavar="Q.json")
    m.add_argument("--samples", metavar="FILE")
    args = ap.parse_args(argv)
    try:
        if args.command == "id":
            print(host_id(args.host_label))
        elif args.command == "context":
            print(json.dumps(host_context(args.host_label), indent=2))
        elif args.command == "wait-quiet":
            report = wait_quiet(args.max_wait, args.load_per_cpu,
                                progress=lambda t: print(f"==== {t}", file=sys.stderr, flush=True))
            print(json.dumps(report))
        elif args.command == "sample":
            sample_forever(args.file, args.interval)
        elif args.command == "merge":
            quiet = None
            if args.quiet_wait:
                with open(args.quiet_wait, encoding="utf-8") as f:
                    quiet = json.load(f)
            merge(args.result, quiet, read_samples(args.samples) if args.samples else (), args.host_label)
    except HostError as e:
        print(f"hostinfo: {e}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:  # a result file that is missing or not JSON
        print(f"hostinfo: {args.command}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
