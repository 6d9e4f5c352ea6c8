"""The matrix: catalog rows x kernels, which rows disagree or differ from the man
page, and its JSON, Markdown and terminal renderings."""

import json
import os
import re
import time

from .common import REPO, VERDICT_MARK, HarnessBroken

def catalog_rows():
    """(number, id, needs, kernelDiffers) of every catalog row, from CatalogRows.swift."""
    text = open(os.path.join(REPO, "Sources/HinixConformance/CatalogRows.swift")).read()
    rows = re.findall(
        r'CatalogRow\(number: (\d+), id: "([^"]+)", source: "(?:[^"\\]|\\.)*", needs: "((?:[^"\\]|\\.)*)", kernelDiffers: (true|false)\)',
        text)
    return [{"number": int(n), "id": i, "needs": needs, "kernelDiffers": k == "true"} for n, i, needs, k in rows]


def build_matrix(catalog, kernels):
    """kernels: [{"label", "report" (or None), "problem", ...}] in column order.
    Returns the matrix: rows with a verdict per kernel, and which rows the
    kernels disagree on and which differ from the man page."""
    by_kernel = {}
    for kernel in kernels:
        cells = {}
        report = kernel.get("report")
        if report:
            for result in report["results"]:
                for row_id in result["ids"]:
                    cells[row_id] = {"verdict": result["verdict"], "detail": result.get("detail"),
                                     "check": result["ids"][0], "kernelDiffers": result.get("kernelDiffers", False)}
            for row in report.get("uncovered", []):
                cells.setdefault(row["id"], {"verdict": "skip", "detail": "no check covers this row yet", "check": None})
        by_kernel[kernel["label"]] = cells
    rows = []
    for entry in catalog:
        verdicts = {}
        for kernel in kernels:
            if kernel.get("report") is None:
                verdicts[kernel["label"]] = {"verdict": None, "detail": "infrastructure error: no report from this kernel"}
            else:
                verdicts[kernel["label"]] = by_kernel[kernel["label"]].get(
                    entry["id"], {"verdict": None, "detail": "not in this kernel's report"})
        seen = {cell["verdict"] for cell in verdicts.values() if cell["verdict"] is not None}
        failed = sorted(label for label, cell in verdicts.items() if cell["verdict"] == "fail")
        differs = entry["kernelDiffers"] or any(cell.get("kernelDiffers") for cell in verdicts.values())
        rows.append({
            "number": entry["number"], "id": entry["id"], "needs": entry["needs"],
            "kernelDiffers": differs, "verdicts": verdicts,
            "disagree": len(seen) > 1, "failedOn": failed,
            "manPage": differs or bool(failed),
        })
    return rows


def kernel_summary(kernel):
    report = kernel.get("report")
    summary = dict(report["summary"]) if report else None
    return {
        "label": kernel["label"], "package": kernel.get("package"), "version": kernel.get("version"),
        "image": kernel.get("imageName"),
        "kernelRelease": report["host"]["kernelRelease"] if report else None,
        "kernelVersion": report["host"]["kernelVersion"] if report else None,
        "hasSysResource": report["host"]["hasSysResource"] if report else None,
        "status": "report" if report else "infrastructure-error",
        "problem": kernel.get("problem"),
        "summary": summary,
        "bootSeconds": kernel.get("bootSeconds"), "conformSeconds": round(report["seconds"], 1) if report else None,
        "wallSeconds": kernel.get("wallSeconds"), "attempts": kernel.get("attempts", []),
    }


def cell_text(cell, markdown=False):
    verdict = cell["verdict"]
    if verdict is None:
        return "—"
    if markdown:
        return {"pass": "pass", "fail": "**FAIL**", "skip": "skip", "error": "*error*", "timeout": "*timeout*"}.get(verdict, verdict)
    return verdict


def render_terminal(matrix):
    labels = [k["label"] for k in matrix["kernels"]]
    out = []
    width = max(len(r["id"]) for r in matrix["rows"]) + 5
    out.append("Verdicts: P pass, F fail, s skip, E error, T timeout, . no report.  Flags: ≠ kernels disagree, ⚠ differs from the man page")
    indent = len(f"{0:>3} {'':<{width - 4}} {'  '}  ")
    for index, label in enumerate(labels):
        out.append(" " * indent + "│ " * index + "┌ " + label)
    for row in matrix["rows"]:
        marks = " ".join(VERDICT_MARK.get(row["verdicts"][l]["verdict"], "?") for l in labels)
        flags = ("≠" if row["disagree"] else " ") + ("⚠" if row["manPage"] else " ")
        out.append(f"{row['number']:>3} {row['id']:<{width - 4}} {flags}  {marks}")
    out.append("")
    out.extend(render_summary_lines(matrix))
    return "\n".join(out) + "\n"


def render_summary_lines(matrix):
    out = []
    labels = [k["label"] for k in matrix["kernels"]]
    disagree = [r for r in matrix["rows"] if r["disagree"]]
    out.append(f"Rows where the kernels disagree ({len(disagree)}):")
    for row in disagree:
        cells = ", ".join(f"{l} {row['verdicts'][l]['verdict'] or 'no report'}" for l in labels)
        out.append(f"  {row['number']:>3} {row['id']}: {cells}")
        for label in labels:
            cell = row["verdicts"][label]
            if cell["verdict"] in ("fail", "error", "skip") and cell.get("detail"):
                out.append(f"        {label}: {cell['detail']}")
    failing = [r for r in matrix["rows"] if r["failedOn"] and not r["disagree"]]
    out.append(f"Rows that fail on every kernel with a report ({len(failing)}):")
    for row in failing:
        out.append(f"  {row['number']:>3} {row['id']}: {row['verdicts'][row['failedOn'][0]].get('detail')}")
    out.append("")
    out.append(f"{'kernel':<22} {'release':<28} {'pass':>4} {'fail':>4} {'skip':>4} {'err':>4} {'boot s':>7} {'run s':>6} {'wall s':>7}  tries")
    for k in matrix["kernels"]:
        s = k["summary"]
        if s:
            out.append(f"{k['label']:<22} {k['kernelRelease']:<28} {s['pass']:>4} {s['fail']:>4} {s['skip']:>4} {s['error']:>4} "
                       f"{k['bootSeconds'] or 0:>7.1f} {k['conformSeconds'] or 0:>6.1f} {k['wallSeconds'] or 0:>7.1f}  {len(k['attempts'])}")
        else:
            out.append(f"{k['label']:<22} INFRASTRUCTURE ERROR after {len(k['attempts'])} tries: {k['problem']}")
    out.append(f"total wall time {matrix['totalSeconds']:.0f} s ({matrix['parallel']} kernels at a time)")
    return out


def render_markdown(matrix):
    labels = [k["label"] for k in matrix["kernels"]]
    out = ["# hinix conform across Linux kernels", ""]
    out.append(f"Made by `{matrix['command']}` on {matrix['date']}, on a {matrix['hostCores']}-core "
               f"{matrix['hostKernel']} host: each kernel booted under `qemu-system-x86_64 -accel tcg` "
               f"(software emulation, 1 vCPU, 512 MiB), {matrix['parallel']} at a time; /init runs "
               "`hinix conform --format json` as root, which has CAP_SYS_RESOURCE in the guest. "
               f"Total wall time {matrix['totalSeconds']:.0f} s.")
    out.append("")
    out.append("| kernel | package | uname -r | pass | fail | skip | error | boot s | run s | wall s | tries |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in matrix["kernels"]:
        s = k["summary"]
        if s:
            out.append(f"| {k['label']} | {k['package'] or k['image'] or ''} {k['version'] or ''} | {k['kernelRelease']} | {s['pass']} | "
                       f"{s['fail']} | {s['skip']} | {s['error']} | {k['bootSeconds'] or 0:.1f} | {k['conformSeconds'] or 0:.1f} | "
                       f"{k['wallSeconds'] or 0:.1f} | {len(k['attempts'])} |")
        else:
            out.append(f"| {k['label']} | {k['package'] or k['image'] or ''} {k['version'] or ''} | **infrastructure error**: "
                       f"{md(k['problem'])} | | | | | | | {k['wallSeconds'] or 0:.1f} | {len(k['attempts'])} |")
    out.append("")
    out.append("Boot s: seconds from power-on to /init (guest clock); run s: `hinix conform` itself; "
               "wall s: the whole qemu run on the host, including power-off.")
    if matrix.get("bootsSeconds") is not None:
        build = matrix.get("buildSeconds")
        out.append("")
        out.append(f"Static build {'%.0f s' % build if build is not None else 'skipped (--hinix)'} (alongside the downloads), "
                   f"all boots {matrix['bootsSeconds']:.0f} s, total {matrix['totalSeconds']:.0f} s.")
    out.append("")
    disagree = [r for r in matrix["rows"] if r["disagree"]]
    out.append(f"## Rows where the kernels disagree ({len(disagree)})")
    out.append("")
    if disagree:
        out.append("| # | ID | " + " | ".join(labels) + " | what differs |")
        out.append("|---:|---|" + "---|" * len(labels) + "---|")
        for row in disagree:
            details = "; ".join(f"{l}: {md(row['verdicts'][l]['detail'])}" for l in labels
                                if row["verdicts"][l]["verdict"] not in ("pass", None) and row["verdicts"][l].get("detail"))
            out.append(f"| {row['number']} | {row['id']} | " + " | ".join(cell_text(row["verdicts"][l], True) for l in labels)
                       + f" | {details} |")
    else:
        out.append("None: every kernel with a report gave every row the same verdict.")
    out.append("")
    manpage = [r for r in matrix["rows"] if r["manPage"]]
    out.append(f"## Rows where the kernel differs from the man page ({len(manpage)})")
    out.append("")
    out.append("⚠ rows of the catalog, where Linux is known to differ from (or go beyond) the 6.03 man pages "
               "and the check expects the kernel's behaviour, and rows that failed on some kernel.")
    out.append("")
    out.append("| # | ID | ⚠ | failed on | " + " | ".join(labels) + " |")
    out.append("|---:|---|---|---|" + "---|" * len(labels))
    for row in manpage:
        out.append(f"| {row['number']} | {row['id']} | {'⚠' if row['kernelDiffers'] else ''} | {', '.join(row['failedOn'])} | "
                   + " | ".join(cell_text(row["verdicts"][l], True) for l in labels) + " |")
    out.append("")
    out.append(f"## Every catalog row ({len(matrix['rows'])})")
    out.append("")
    out.append("≠: the kernels disagree. ⚠: differs from the man page. — : no report from that kernel.")
    out.append("")
    out.append("| # | ID | needs | flags | " + " | ".join(labels) + " |")
    out.append("|---:|---|---|---|" + "---|" * len(labels))
    for row in matrix["rows"]:
        flags = ("≠" if row["disagree"] else "") + ("⚠" if row["manPage"] else "")
        out.append(f"| {row['number']} | {row['id']} | {md(row['needs'])} | {flags} | "
                   + " | ".join(cell_text(row["verdicts"][l], True) for l in labels) + " |")
    out.append("")
    return "\n".join(out)


def md(text):
    return (text or "").replace("|", "\\|").replace("\n", " ")


def assemble(kernel_entries, total_seconds, parallel, command):
    catalog = catalog_rows()
    if len(catalog) < 100:
        raise HarnessBroken(f"read only {len(catalog)} catalog rows from CatalogRows.swift")
    return {
        "schema": "hinix-kernel-matrix/1",
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "hostKernel": "Linux " + os.uname().release,
        "hostCores": os.cpu_count(),
        "parallel": parallel,
        "totalSeconds": round(total_seconds, 1),
        "kernels": [kernel_summary(k) for k in kernel_entries],
        "rows": build_matrix(catalog, kernel_entries),
    }


def write_outputs(matrix, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "matrix.json"), "w") as file:
        json.dump(matrix, file, indent=1, sort_keys=True, ensure_ascii=False)
        file.write("\n")
    with open(os.path.join(out, "matrix.md"), "w") as file:
        file.write(render_markdown(matrix))


def validate_report(report):
    """Checks a report against results/conform-report.schema.json when
    jsonschema is installed (CI installs it); returns a problem or None."""
    try:
        import jsonschema
    except ImportError:
        return None
    schema = json.load(open(os.path.join(REPO, "results/conform-report.schema.json")))
    clean = {k: v for k, v in report.items() if not k.startswith("_")}
    try:
        jsonschema.validate(clean, schema)
    except jsonschema.ValidationError as error:
        return f"the report does not match the schema: {error.message}"
    return None
