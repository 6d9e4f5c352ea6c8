"""Tests of scripts/bench-compare, on two committed real runs (fixtures/bench/README.md)
and on hand-made result files.

Most tests call the script's main() in this process (it is loaded from its file);
the ones about what a user sees on a terminal (--help, errors) run it as a program.
"""

import importlib.machinery
import importlib.util
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from scipy.stats import mannwhitneyu

SCRIPTS = Path(__file__).resolve().parents[1]
SCRIPT = SCRIPTS / "bench-compare"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bench"
QUIET = str(FIXTURES / "vm-quiet.json")
BUSY = str(FIXTURES / "vm-cpu1-busy.json")
SVG = "{http://www.w3.org/2000/svg}"
PANELS = ["panel-send-receive", "panel-ping-pong", "panel-throughput"]


def load_script():
    loader = importlib.machinery.SourceFileLoader("bench_compare", str(SCRIPT))
    spec = importlib.util.spec_from_loader("bench_compare", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


bc = load_script()


@pytest.fixture
def compare(capsys):
    """Runs bench-compare's main(ARGUMENTS) here: (status, stdout, stderr)."""
    def run(*arguments):
        status = bc.main([str(a) for a in arguments])
        out, err = capsys.readouterr()
        return status, out, err
    return run


def run_program(*arguments):
    """Runs python3 scripts/bench-compare ARGUMENTS as a separate program."""
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, arguments)],
                          capture_output=True, text=True, timeout=120)


# MARK: - An independent reading of the result files


class Fixture:
    """A result file's repetitions, read here without the script's code:
    benchmark name (without /iterations:N and /manual_time) -> metric -> values."""

    UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}

    def __init__(self, path):
        root = json.loads(Path(path).read_text())
        self.host = root["context"]["host_name"]
        self.date = root["context"]["date"]
        self.samples = {}
        for entry in root["benchmarks"]:
            if entry.get("run_type") != "iteration" or "error_occurred" in entry:
                continue
            name = re.sub(r"/iterations:[0-9]+", "", entry["run_name"].replace("/manual_time", ""))
            if "MqThroughput/" in name:
                time = 1e9 / entry["items_per_second"]  # per message
            else:
                time = entry["real_time"] * self.UNIT_NS[entry.get("time_unit", "ns")]
            metrics = self.samples.setdefault(name, {})
            metrics.setdefault("time", []).append(time)
            if "p50_ns" in entry:
                metrics.setdefault("p50", []).append(entry["p50_ns"])

    def median(self, name, metric):
        values = sorted(self.samples.get(name, {}).get(metric, []))
        if not values:
            return None
        n = len(values)
        return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def close(a, b, relative=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= relative * max(abs(a), abs(b))


# MARK: - An independent Mann-Whitney U test (the script's former hand-written one)


def reference_mann_whitney(x, y):
    """(p, method): exact (Gaussian binomial counts of U) for tie-free samples of at
    most 25 each, else the normal approximation with tie and continuity corrections."""
    n1, n2 = len(x), len(y)
    values = list(x) + list(y)
    order = sorted(range(n1 + n2), key=lambda i: values[i])
    ranks, ties, i = [0.0] * (n1 + n2), [], 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        ties.append(j - i + 1)
        i = j + 1
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    if max(ties) == 1 and n1 <= 25 and n2 <= 25:
        top = n1 * n2
        poly = [1] + [0] * top
        for i in range(1, n1 + 1):
            for k in range(top, n2 + i - 1, -1):
                poly[k] -= poly[k - n2 - i]
            for k in range(i, top + 1):
                poly[k] += poly[k - i]
        return min(1.0, 2 * sum(poly[round(u):]) / math.comb(n1 + n2, n1)), "exact"
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - sum(t ** 3 - t for t in ties) / (n * (n - 1)))
    if variance <= 0:
        return 1.0, "normal"
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(z / math.sqrt(2))), "normal"


# MARK: - Hand-made result files


def write_result(path, benchmarks, host="testhost", date="2026-01-02T03:04:05+00:00"):
    """A minimal hinix-bench result: each benchmark's per-repetition real times in ns."""
    entries = []
    for family, (name, times) in enumerate(benchmarks):
        for index, time in enumerate(times):
            entries.append({"name": name, "run_name": name, "run_type": "iteration",
                            "family_index": family, "per_family_instance_index": 0,
                            "repetitions": len(times), "repetition_index": index, "threads": 1,
                            "iterations": 1000, "real_time": time, "cpu_time": time, "time_unit": "ns"})
    context = {"date": date, "host_name": host, "hinix_version": "0.1.0-dev", "hinix_git_commit": "test",
               "hinix_iteration_scale": "1", "num_cpus": 2}
    Path(path).write_text(json.dumps({"context": context, "benchmarks": entries}, sort_keys=True))
    return str(path)


def rows_of(out):
    """The --json rows, by 'benchmark metric'."""
    return {f"{r['benchmark']} {r['metric']}": r for r in json.loads(out)["rows"]}


def u_test(row, index=1):
    return row["tests"][index] if row is not None else None


def read_svg(path):
    """(root tag, panel ids in order, panel id -> series indices, legend texts); raises
    on XML that is not well-formed."""
    root = ET.parse(path).getroot()
    panels, series = [], {}
    for g in root.iter(f"{SVG}g"):
        gid = g.get("id", "")
        if gid.startswith("panel-"):
            panels.append(gid)
            series[gid] = [int(s.get("id").rsplit("-", 1)[1]) for s in g.iter(f"{SVG}g")
                           if s.get("id", "").startswith("series-")]
    legend = next((g for g in root.iter(f"{SVG}g") if g.get("id") == "legend"), None)
    texts = [t.text for t in legend.iter(f"{SVG}text")] if legend is not None else []
    assert texts and texts[0].startswith("Each point: the median"), "the legend's title is the footnote"
    return root.tag, panels, series, texts[1:]


# MARK: - The tests


def test_two_real_runs_medians_ratios_and_tests_as_computed_here(compare):
    a, b = Fixture(QUIET), Fixture(BUSY)
    shared = set(a.samples) & set(b.samples)
    assert len(shared) >= 8, f"the fixtures share too little: {sorted(shared)}"
    assert set(a.samples) != set(b.samples), "one fixture should hold a benchmark the other lacks"

    status, out, err = compare(QUIET, BUSY, "--json", "--no-plot")
    assert status == 0, err
    rows = rows_of(out)
    expected_rows = 0
    for name in sorted(shared):
        for metric in ("time", "p50"):
            if metric not in a.samples[name]:
                continue
            expected_rows += 1
            row = rows[f"{name} {metric}"]
            ma, mb = a.median(name, metric), b.median(name, metric)
            assert close(row["medians"][0], ma) and close(row["medians"][1], mb), (name, metric)
            assert close(row["ratios"][1], mb / ma), (name, metric)
            t = u_test(row)
            assert 0 < t["p"] <= 1
            assert t["significant"] == (t["p"] < 0.05)
            assert t["method"] in ("exact", "normal")
            p, method = reference_mann_whitney(a.samples[name][metric], b.samples[name][metric])
            assert t["method"] == method and close(t["p"], p, 1e-9), (name, metric, t, p)
    assert len(rows) == expected_rows, f"rows beyond the shared benchmarks: {sorted(rows)}"

    # The text table: one line per shared benchmark and metric, the ratio to three places.
    status, text, err = compare(QUIET, BUSY, "--no-plot")
    assert status == 0, err
    lines = [line.split() for line in text.splitlines()]
    for name in shared:
        for metric in ("time", "p50"):
            if metric not in a.samples[name]:
                continue
            matching = [cells for cells in lines if name in cells and metric in cells and len(cells) > 7]
            assert len(matching) == 1, (name, metric, matching)
            cells = matching[0]
            at = cells.index(metric)
            # name metric <value> <unit> <value> <unit> <ratio> <p> <test> [*]
            ratio = b.median(name, metric) / a.median(name, metric)
            assert cells[at + 5] == f"{ratio:.3f}", cells
            assert ("*" in cells[at + 6:]) == rows[f"{name} {metric}"]["tests"][1]["significant"]
    assert "vm 20" in text, "labels are the host and the run date"


# The verdicts of the committed fixtures, as the hand-written test (before scipy) gave them.
FIXTURE_VERDICTS = {
    "BM_Floor_MqPingPong/cpu:same/wait:block/size:8 time": ("exact", True),
    "BM_Floor_MqPingPong/cpu:same/wait:block/size:8 p50": ("normal", False),
    "BM_Floor_MqThroughput/cpu:same/wait:block/size:512 time": ("exact", True),
    "BM_Shim_MqPingPong/cpu:same/wait:block/size:8 time": ("exact", False),
    "BM_Shim_MqPingPong/cpu:same/wait:block/size:8 p50": ("normal", False),
    "BM_Shim_MqThroughput/cpu:same/wait:block/size:512 time": ("exact", True),
}


def test_fixture_verdicts_are_unchanged(compare):
    status, out, err = compare(QUIET, BUSY, "--json", "--no-plot")
    assert status == 0, err
    rows = rows_of(out)
    assert len(rows) == 16
    for key, row in rows.items():
        method, significant = FIXTURE_VERDICTS.get(key, ("exact", False))
        t = u_test(row)
        assert (t["method"], t["significant"]) == (method, significant), key
    assert close(u_test(rows["BM_Shim_MqThroughput/cpu:same/wait:block/size:512 time"])["p"], 1 / 1430)


def test_plot_is_svg_and_png_with_one_series_per_input_in_every_panel(compare, tmp_path):
    svg = tmp_path / "plot.svg"
    status, out, err = compare(QUIET, BUSY, "--plot", svg, "--label", "quiet", "--label", "busy")
    assert status == 0, err
    assert f"plot: {svg} and {tmp_path / 'plot.png'}" in out
    root, panels, series, legend = read_svg(svg)
    assert root == f"{SVG}svg"
    assert panels == PANELS
    assert legend == ["quiet (vm-quiet.json)", "busy (vm-cpu1-busy.json)"]
    for panel in panels:
        assert series[panel] == [0, 1], panel
    png = (tmp_path / "plot.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    # Nothing else is left in the directory (the temporary files were renamed).
    assert sorted(os.listdir(tmp_path)) == ["plot.png", "plot.svg"]


def test_plot_given_as_png_writes_both_and_json_names_them(compare, tmp_path):
    status, out, err = compare(QUIET, BUSY, "--json", "--plot", tmp_path / "fig.png")
    assert status == 0, err
    document = json.loads(out)
    assert document["plot"] == str(tmp_path / "fig.svg")
    assert document["plots"] == [str(tmp_path / "fig.svg"), str(tmp_path / "fig.png")]
    assert sorted(os.listdir(tmp_path)) == ["fig.png", "fig.svg"]


def test_plot_is_reproducible(compare, tmp_path):
    for name in ("one.svg", "two.svg"):
        assert compare(QUIET, BUSY, "--plot", tmp_path / name)[0] == 0
    assert (tmp_path / "one.svg").read_bytes() == (tmp_path / "two.svg").read_bytes()


def test_single_file_medians_and_plot_beside_it(compare, tmp_path):
    copy = tmp_path / "run.json"
    shutil.copy(QUIET, copy)
    status, out, err = compare(copy, "--json")
    assert status == 0, err
    document = json.loads(out)
    assert document["plot"] == str(tmp_path / "run.svg")
    a = Fixture(QUIET)
    assert document["rows"]
    for row in document["rows"]:
        assert "ratios" not in row and "tests" not in row
        assert close(row["medians"][0], a.median(row["benchmark"], row["metric"])), row["benchmark"]
    _, panels, series, legend = read_svg(tmp_path / "run.svg")
    assert len(legend) == 1 and legend[0].startswith("vm 20") and legend[0].endswith(" (run.json)")
    assert panels == PANELS and all(s == [0] for s in series.values())
    assert (tmp_path / "run.png").exists()


def test_default_plot_path_for_two_files(compare, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    shutil.copy(QUIET, a)
    shutil.copy(BUSY, b)
    status, out, err = compare(a, b)
    assert status == 0, err
    assert sorted(os.listdir(tmp_path)) == ["a-compare.png", "a-compare.svg", "a.json", "b.json"]


def test_markdown_has_a_line_per_json_row(compare):
    json_rows = rows_of(compare(QUIET, BUSY, "--json", "--no-plot")[1])
    status, out, err = compare(QUIET, BUSY, "--markdown", "--no-plot")
    assert status == 0, err
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| benchmark | metric |")
    assert len(table) == len(json_rows) + 1  # the header, then one line per row


def test_known_u_tests(compare, tmp_path):
    rng = random.Random(20261127)
    low = [i * 100.0 for i in range(1, 10)]
    high = [i * 100.0 for i in range(10, 19)]
    a = write_result(tmp_path / "a.json", [("BM_Separated", low), ("BM_Identical", low),
                                           ("BM_Ties", [100, 100, 200, 200, 300]), ("BM_OnlyHere", low)])
    b = write_result(tmp_path / "b.json", [("BM_Separated", rng.sample(high, 9)),
                                           ("BM_Identical", rng.sample(low, 9)),
                                           ("BM_Ties", [300, 400, 400, 500, 500])],
                     date="2026-01-02T04:00:00+00:00")
    status, out, err = compare(a, b, "--json", "--no-plot")
    assert status == 0, err
    rows = rows_of(out)
    assert set(rows) == {"BM_Separated time", "BM_Identical time", "BM_Ties time"}

    # 9 against 9, no ties: exact (scipy's method="auto" would take the normal approximation).
    separated = u_test(rows["BM_Separated time"])
    assert separated["method"] == "exact"
    assert close(separated["p"], 2 / 48620, 1e-12)  # C(18, 9) = 48620
    assert separated["significant"] is True
    assert close(rows["BM_Separated time"]["ratios"][1], 1400 / 500)

    identical = u_test(rows["BM_Identical time"])
    assert identical["p"] == 1.0 and identical["significant"] is False

    # Ties: the normal approximation with tie and continuity corrections
    # (the exact distribution would give 0.0159, without a tie correction).
    ties = u_test(rows["BM_Ties time"])
    assert ties["method"] == "normal"
    assert close(ties["p"], 0.014706853890834981, 1e-9)

    # With alpha below that p, the row is no longer significant.
    strict = rows_of(compare(a, b, "--json", "--no-plot", "--alpha", "0.01")[1])
    assert u_test(strict["BM_Ties time"])["significant"] is False
    assert u_test(strict["BM_Separated time"])["significant"] is True


def test_method_choice():
    assert bc.mann_whitney(list(range(25)), list(range(25, 50)))["method"] == "exact"
    assert bc.mann_whitney(list(range(26)), list(range(26, 52)))["method"] == "normal"
    assert bc.mann_whitney([1, 2, 3], [3, 4, 5])["method"] == "normal"
    assert bc.mann_whitney([1, 1, 2], [3, 4, 5])["method"] == "normal"  # a tie within a sample
    everything_equal = bc.mann_whitney([5.0] * 6, [5.0] * 6)
    assert everything_equal["p"] == 1.0 and everything_equal["method"] == "normal"


def test_too_few_repetitions_warns_and_3_against_3_gives_p_0_1(compare, tmp_path):
    a = write_result(tmp_path / "a.json", [("BM_X", [1, 2, 3])])
    b = write_result(tmp_path / "b.json", [("BM_X", [4, 5, 6])], date="2026-01-03T00:00:00+00:00")
    status, out, err = compare(a, b, "--json", "--no-plot")
    assert status == 0, err
    document = json.loads(out)
    assert any("never below alpha" in w for w in document["warnings"]), document["warnings"]
    assert any("run at least 4 repetitions" in w for w in document["warnings"])
    t = u_test(rows_of(out)["BM_X time"])
    assert close(t["p"], 0.1) and t["significant"] is False


def test_agrees_with_the_reference_and_scipy_on_random_samples(compare, tmp_path):
    rng = random.Random(20261127)
    a, b = [], []
    for i in range(12):
        n1, n2 = 3 + rng.randrange(10), 3 + rng.randrange(10)
        shift = [0.0, 0.3, 1.0][i % 3]
        # Every third benchmark draws whole numbers, so that it has ties.
        draw = (lambda offset: float(int(rng.random() * 6 + offset * 3) + 1)) if i % 3 == 2 else \
               (lambda offset: 1000 * (1 + rng.random() + offset))
        a.append((f"BM_R{i}", [draw(0) for _ in range(n1)]))
        b.append((f"BM_R{i}", [draw(shift) for _ in range(n2)]))
    # And one pair larger than the exact method's limit, without ties.
    a.append(("BM_Large", [1000 * (1 + rng.random()) for _ in range(30)]))
    b.append(("BM_Large", [1000 * (1.2 + rng.random()) for _ in range(27)]))
    status, out, err = compare(write_result(tmp_path / "a.json", a),
                               write_result(tmp_path / "b.json", b, date="2026-01-02T05:00:00+00:00"),
                               "--json", "--no-plot")
    assert status == 0, err
    rows = rows_of(out)
    methods = set()
    for (name, x), (_, y) in zip(a, b):
        t = u_test(rows[f"{name} time"])
        methods.add(t["method"])
        p, method = reference_mann_whitney(x, y)
        assert t["method"] == method, name
        assert close(t["p"], p, 1e-9), (name, t, p)
        scipy_method = "exact" if method == "exact" else "asymptotic"
        expected = float(mannwhitneyu(x, y, alternative="two-sided", method=scipy_method).pvalue)
        assert close(t["p"], expected, 1e-12), (name, t, expected)
    assert methods == {"exact", "normal"}


@pytest.mark.parametrize("arguments, status, says", [
    (["MISSING"], 1, "no such file"),
    (["TEXT"], 1, "not JSON"),
    (["GBENCH"], 1, "not from hinix-bench"),
    (["OTHER"], 1, "nothing to compare"),
    ([BUSY, "--frobnicate"], 2, "unrecognized arguments"),
    ([BUSY, "--alpha", "2"], 2, "--alpha"),
    ([BUSY, "--label", "only-one"], 2, "--label"),
    ([BUSY, "--json", "--markdown"], 2, "not allowed with"),
    ([BUSY, "--plot", "PLOTDIR/plot.pdf"], 2, "ending in .svg or .png"),
    ([BUSY, "--plot", "/proc/no/such/plot.svg"], 1, "cannot write the plot"),
    ([], 2, "required"),
], ids=["missing", "text", "gbench", "nothing-shared", "bad-option", "alpha", "label", "two-formats",
        "plot-extension", "unwritable-plot", "no-arguments"])
def test_bad_input_one_line_on_stderr_no_output_no_plot(tmp_path, arguments, status, says):
    (tmp_path / "text.json").write_text("not json at all\n")
    (tmp_path / "gbench.json").write_text('{"context": {"host_name": "x"}, "benchmarks": []}')
    write_result(tmp_path / "other.json", [("BM_NotInTheFixtures", [1, 2, 3, 4])])
    names = {"MISSING": tmp_path / "missing.json", "TEXT": tmp_path / "text.json",
             "GBENCH": tmp_path / "gbench.json", "OTHER": tmp_path / "other.json"}
    arguments = [str(names.get(a, a)).replace("PLOTDIR", str(tmp_path)) for a in arguments]
    if arguments and "--plot" not in arguments:
        arguments += ["--plot", str(tmp_path / "plot.svg")]
    result = run_program(*([QUIET] + arguments if arguments else []))
    assert result.returncode == status, result
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert sorted(os.listdir(tmp_path)) == ["gbench.json", "other.json", "text.json"]


def test_help_teaches():
    result = run_program("--help")
    assert result.returncode == 0, result
    for part in ["usage:", "Mann-Whitney", "scipy.stats.mannwhitneyu", "--alpha", "--plot", "--no-plot",
                 "--label", "FILE.png", "matplotlib", "examples:", "exit status", "--max-load",
                 "--max-steal", "host_load1", "what differs between these hosts"]:
        assert part in result.stdout, f"--help lacks {part}"


def test_closed_pipe_ends_quietly():
    script = f"{sys.executable} {SCRIPT} {QUIET} {BUSY} --no-plot | head -1"
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("baseline: ")
    assert "Traceback" not in result.stderr


# MARK: - Load, steal and what differs between hosts (host-*.json: edited copies, see the README)

AMD = str(FIXTURES / "host-amd-quiet.json")
INTEL = str(FIXTURES / "host-intel-loaded.json")


def affected_here(path, max_load_per_cpu=1.0, max_steal=1.0):
    """Benchmarks (as bench-compare names them) with a repetition at or above the thresholds,
    read from the file here."""
    root = json.loads(Path(path).read_text())
    cpus = root["context"]["num_cpus"]
    names = set()
    for e in root["benchmarks"]:
        if e.get("run_type") == "iteration" and (e["host_load1"] >= max_load_per_cpu * cpus
                                                 or e["host_steal_pct"] >= max_steal):
            names.add(re.sub(r"/iterations:[0-9]+", "", e["run_name"].replace("/manual_time", "")))
    return names


def test_loaded_file_warns_and_names_the_comparisons_and_rows_it_affects(compare):
    affected = affected_here(INTEL)
    assert affected and not affected_here(AMD)
    status, out, err = compare(AMD, INTEL, "--json", "--no-plot")
    assert status == 0, err
    document = json.loads(out)
    rows = document["rows"]
    marked = {r["benchmark"] for r in rows if r["under_load"]}
    assert marked == affected & {r["benchmark"] for r in rows}
    assert all(r["under_load"] in ([], [1]) for r in rows)
    load = [w for w in document["warnings"] if "was measured" in w]
    assert len(load) == 1, document["warnings"]
    w = load[0]
    intel, amd = document["files"][1]["label"], document["files"][0]["label"]
    assert w.startswith(f"{intel} (file 2) was measured under load")
    assert "with steal time up to 2.50%" in w and "not quiet (waited 180.0 s" in w
    hit = [r for r in rows if r["under_load"]]
    assert f"{intel} against {amd}, {len(hit)} of {len(rows)} rows" in w
    # The text table marks exactly those rows with L.
    status, text, err = compare(AMD, INTEL, "--no-plot")
    table = [line for line in text.splitlines() if "BM_" in line and not line.startswith("warning")]
    assert {line.split()[1] + " " + line.split()[2] for line in table if line.split()[0] in ("L", "!L")} \
        == {f"{r['benchmark']} {r['metric']}" for r in hit}
    assert len(table) == len(rows)


def test_loaded_baseline_affects_the_comparisons_of_every_other_file(compare):
    status, out, err = compare(INTEL, AMD, AMD, "--json", "--no-plot")
    assert status == 0, err
    document = json.loads(out)
    load = [w for w in document["warnings"] if "was measured" in w]
    assert len(load) == 1 and "(the baseline) was measured under load" in load[0]
    labels = [f["label"] for f in document["files"]]
    assert f"{labels[1]} against {labels[0]}" in load[0] and f"{labels[2]} against {labels[0]}" in load[0]
    assert all(r["under_load"] in ([], [0]) for r in document["rows"])


def test_thresholds_decide(compare):
    # Above the fixture's highest load (4.2 on 2 CPUs): only the steal remains.
    status, out, err = compare(AMD, INTEL, "--json", "--no-plot", "--max-load", "2.5")
    document = json.loads(out)
    w = [w for w in document["warnings"] if "was measured" in w]
    assert len(w) == 1 and "under load" not in w[0] and "with steal time" in w[0]
    marked = {r["benchmark"] for r in document["rows"] if r["under_load"]}
    assert marked == affected_here(INTEL, 2.5, 1.0) & {r["benchmark"] for r in document["rows"]}
    assert marked and all("Eventfd" in m for m in marked)
    # And with neither, only the run that did not start quiet is reported, affecting no row.
    status, out, err = compare(AMD, INTEL, "--json", "--no-plot", "--max-load", "2.5", "--max-steal", "3")
    document = json.loads(out)
    w = [w for w in document["warnings"] if "was measured" in w]
    assert len(w) == 1 and "not quiet" in w[0] and "affects none" not in w[0]
    assert not any(r["under_load"] for r in document["rows"])


def test_older_files_are_judged_by_the_load_at_their_start(compare, tmp_path):
    quiet = json.loads(Path(QUIET).read_text())
    quiet["context"]["load_avg"] = [0.3, 0.4, 0.5]
    (tmp_path / "quiet.json").write_text(json.dumps(quiet))
    status, out, err = compare(tmp_path / "quiet.json", BUSY, "--json", "--no-plot")
    document = json.loads(out)
    w = [w for w in document["warnings"] if "was measured" in w]
    assert len(w) == 1 and "up to 3.94 on 2 CPUs at the start only" in w[0] and "every row" in w[0]
    assert all(r["under_load"] == [1] for r in document["rows"])


def test_what_differs_between_hosts_lists_only_differing_fields(compare):
    status, out, err = compare(AMD, INTEL, "--json", "--no-plot")
    differences = {d["field"]: d["values"] for d in json.loads(out)["host_differences"]}
    assert set(differences) == {"host id", "CPU vendor", "CPU model", "CPU family/model/stepping",
                                "microcode", "clocksource", "kernel command line", "CPU flags",
                                "mitigation retbleed", "mitigation spectre_v2"}
    assert differences["CPU flags"] == [["clzero", "sse4a", "xsaveerptr"], ["avx512bw", "avx512f", "pku"]]
    assert differences["clocksource"] == ["tsc", "kvm-clock"]
    status, text, err = compare(AMD, INTEL, "--no-plot")
    section = text.split("what differs between these hosts", 1)[1].split("\n\n", 1)[0]
    assert "  CPU model:\n    baseline: AMD EPYC 7B13 64-Core Processor\n" \
           "    file 2:   Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz" in section
    assert "kernel:" not in section and "glibc" not in section and "mitigation meltdown" not in section
    # The same host twice: nothing differs.
    status, text, err = compare(AMD, AMD, "--no-plot")
    assert "what differs between these hosts: nothing that the files record" in text


def test_labels_name_the_host_id(compare):
    status, out, err = compare(AMD, INTEL, "--json", "--no-plot")
    labels = [f["label"] for f in json.loads(out)["files"]]
    assert labels == ["vm-amd-epyc-7b13-1a2b3c4d 2026-11-27 07:30Z",
                      "vm-intel-xeon-platinum-8375c-5e6f7a8b 2026-11-27 07:31Z"]
    status, out, err = compare(AMD, INTEL, "--json", "--no-plot", "--label", "amd", "--label", "intel")
    assert [f["label"] for f in json.loads(out)["files"]] == ["amd", "intel"]
