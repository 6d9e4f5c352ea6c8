"""Reading hinix-bench result files: shared by scripts/bench-ratios and scripts/bench-compare.

A result file is Google Benchmark's --benchmark_out JSON: a "context" object
(Google Benchmark's own keys plus hinix-bench's: kernel_release, mqueue limits,
glibc_version, hinix_version, hinix_git_commit...) and a "benchmarks" list with
one entry per repetition ("run_type": "iteration") and the aggregates
("run_type": "aggregate": mean, median, stddev, cv). Only the standard library.
"""

import json
import re
import statistics

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class ResultError(Exception):
    """A result file that cannot be used; the message says why and what to do."""


def load(path):
    """The parsed result file; ResultError if it is missing, not JSON, or not from hinix-bench."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ResultError(f"{path}: no such file (give a JSON file that scripts/bench wrote, "
                          "e.g. results/<host>/bench-<UTC>.json)") from None
    except IsADirectoryError:
        raise ResultError(f"{path}: is a directory, not a result file") from None
    except OSError as e:
        raise ResultError(f"{path}: cannot read it ({e.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultError(f"{path}: not JSON ({e}); give a file written by "
                          "hinix-bench --benchmark_out=FILE --benchmark_out_format=json") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list) \
            or not isinstance(data.get("context"), dict):
        raise ResultError(f"{path}: not a Google Benchmark result (no \"context\" object and "
                          "\"benchmarks\" list); give a file written by scripts/bench")
    if "hinix_version" not in data["context"]:
        raise ResultError(f"{path}: a Google Benchmark result, but not from hinix-bench (its "
                          "context has no hinix_version); give a file written by scripts/bench")
    for e in data["benchmarks"]:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            raise ResultError(f"{path}: a benchmark entry without a name; the file is damaged")
    return data


def per_run(entries):
    """name -> list of repetition entries (iteration runs; else median aggregates)."""
    runs, medians = {}, {}
    for e in entries:
        name = e.get("run_name", e["name"])
        if e.get("run_type") == "aggregate":
            if e.get("aggregate_name") == "median":
                medians.setdefault(name, []).append(e)
        else:
            runs.setdefault(name, []).append(e)
    for name, entries in medians.items():
        runs.setdefault(name, entries)
    return runs


_THROUGHPUT = re.compile(r"(?:^|_)MqThroughput(NM)?/")


def is_throughput(name):
    """MqThroughput (1 -> 1) and MqThroughputNM (N -> M): an iteration is a batch of messages."""
    return bool(_THROUGHPUT.search(name))


_LATENCY = re.compile(r"(?:^|_)(MqWakeup|EventfdWakeup|MqNotifySignal)/")


def is_latency(name):
    """Wake-up and notify latencies: each sample is the child's stamp minus the parent's."""
    return bool(_LATENCY.search(name))


def values_of(entries, key):
    """Per-repetition values of `key`, errors left out.

    key "time" is the time per operation in ns: Google Benchmark's real_time
    (manual time for cross-process runs: per pair, per round trip, or per
    wake-up or notification for the MqWakeup, EventfdWakeup and MqNotifySignal
    samples), except for MqThroughput and MqThroughputNM, whose iteration is a
    batch: there it is per message (1e9 / items_per_second). Any other key is
    that counter (e.g. p50_ns).
    """
    values = []
    for e in entries:
        if e.get("error_occurred"):
            continue
        if key == "time" and is_throughput(e["name"]) and e.get("items_per_second"):
            values.append(1e9 / e["items_per_second"])  # per message, not per batch
        elif key == "time":
            values.append(e["real_time"] * UNIT_NS.get(e.get("time_unit", "ns"), 1.0))
        elif key in e:
            values.append(float(e[key]))
    return values


def median_of(entries, key):
    """(median, interquartile range / median) of values_of(entries, key); None where undefined."""
    values = values_of(entries, key)
    if not values:
        return None, None
    med = statistics.median(values)
    if len(values) >= 4 and med > 0:
        q = statistics.quantiles(values, n=4)
        spread = (q[2] - q[0]) / med
    else:
        spread = None
    return med, spread


def order_key(entries):
    """Sort key: the order the benchmarks were registered in."""
    e = entries[0]
    return (e.get("family_index", 0), e.get("per_family_instance_index", 0))


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} us"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.0f} ns"


def caution(name):
    """cpu:any and blocking cpu:split runs measure the hypervisor: no conclusions."""
    if "/cpu:any" in name:
        return True
    return "/cpu:split" in name and "/wait:block" in name


def short(name):
    return name.replace("/manual_time", "").replace("/real_time", "")


_ITERATIONS = re.compile(r"/iterations:\d+")


def key(name):
    """The name without /iterations:N, /manual_time, /real_time: the same benchmark
    in a full run and in a --quick run (whose fixed iteration counts are smaller)."""
    return _ITERATIONS.sub("", short(name))
