# The command line of scripts/kernel-matrix (python3 scripts/kernel-matrix --help).
"""Runs `hinix conform` on a matrix of Linux kernels under qemu and reports
catalog ID x kernel.

usage: scripts/kernel-matrix [options] [KERNEL ...]

KERNEL is one of:
  5.10, 6.12, 7.3 ...        an upstream line: the newest point release of it
                             in Debian's registry, in the --flavour (cloud-amd64)
  linux-image-6.1.0-56-cloud-amd64, linux-binary-7.3.4+deb13-cloud-amd64
                             that Debian package (its newest version)
  /path/to/vmlinuz           a kernel image file (x86-64, with the 8250 serial
                             console, initramfs, devtmpfs, tmpfs and POSIX
                             message queues built in, as Debian's are)
Without KERNEL: the default set, 5.10 6.1 6.12 6.18 7.0 7.3.

What it does, in order:
  1. Fetches the kernel images with a private apt configuration (its own
     sources list for bookworm, bookworm-security, bookworm-backports,
     bullseye, trixie, trixie-backports and sid, and its own state and cache
     directories under the cache), `apt-get download` and `dpkg-deb`: nothing
     is installed, and the host's apt state and /boot are not touched. From
     6.16 on, the image is in a linux-binary-* package, fetched through the
     linux-image-* package's dependency. Images are cached: a second run
     downloads nothing (the package lists are refreshed when older than a
     day, or with --refresh).
  2. Builds the static conformance executable, alongside (network and CPU at
     once): swift build -c release --static-swift-stdlib
     -Xswiftc -static-executable --product hinix --scratch-path .build-static
     (stripped, about 16 MB), and the initramfs's /init from
     scripts/kernel-matrix-init.c with gcc -static. The initramfs (an
     uncompressed newc cpio written here) holds just /init and /hinix.
  3. Boots each kernel, two at a time (--parallel), under
     timeout DEADLINE qemu-system-x86_64 -accel tcg -m 512M -smp 1 -kernel ...
     -initrd ... -append 'console=ttyS0 quiet panic=-1 mitigations=off --
     conform --format json --timeout 60' -nographic -no-reboot, with a second
     serial port that receives only the report. /init mounts /proc, /sys,
     /dev and /tmp, runs hinix conform as root (which, unlike root on the
     host, has CAP_SYS_RESOURCE there), sends the JSON report between marker
     lines on ttyS1 and powers off.
  4. A boot that yields no complete report (a panic, a hang: no init within
     --boot-deadline seconds or no report within --deadline, a truncated or
     unreadable report) is retried once and then recorded as an
     infrastructure error for that kernel, never as a conformance failure;
     the matrix still completes.
  5. Writes OUT/matrix.json, OUT/matrix.md and, per kernel, OUT/LABEL/report.json
     (hinix's own report, schema results/conform-report.schema.json) and
     OUT/LABEL/console.log, and prints the matrix: every catalog row x kernel,
     then the rows where the kernels disagree, then the rows where a kernel
     differs from the man page (a ⚠ row of the catalog, or a failed check).

Progress goes to standard error. Exit status: 0 when every kernel produced a
report (whatever its verdicts), 3 when at least one kernel ended as an
infrastructure error after its retry, 1 when the harness itself broke
(download, build, a report that does not match the schema), 2 for usage
errors.

options:
  -h, --help             this text
  --out DIR              where the matrix goes (default results/kernels)
  --cache DIR            images, apt state, build products (default
                         .build-kernels in the repository, git-ignored;
                         or $HINIX_KERNEL_CACHE)
  --flavour NAME         kernel flavour for version lines (default cloud-amd64,
                         the quickest to boot; amd64 also works)
  --parallel N           kernels booted at once (default 2)
  --deadline S           seconds one boot may take in all (default 300)
  --boot-deadline S      seconds until /init must have started (default 90)
  --check-timeout S      hinix conform --timeout inside the guest (default 60)
  --filter PATTERN       hinix conform --filter inside the guest
  --hinix PATH           a static hinix to use instead of building one
  --refresh              refresh the private apt lists even if recent
  --list                 list the kernel lines in the registry and the newest
                         package of each, and exit
  --report-only          rebuild matrix.json/md and the terminal table from
                         the per-kernel reports already in --out; no boots
  --smoke                CI: --self-test, then boot the oldest and newest
                         default lines (5.10 and 7.3) into a temporary --out;
                         verdicts never fail it, only a broken harness or a
                         kernel that gives no report even on its retry
  --self-test            run the unit tests (report builder, serial parser,
                         version resolution, initramfs, command line: pytest
                         on scripts/kernelmatrix/tests) and exit

examples:
  scripts/kernel-matrix                      # the default matrix: 4-6 min cold, about 3 warm
  scripts/kernel-matrix 6.1 7.3              # two lines
  scripts/kernel-matrix linux-image-6.12.117+deb13-amd64 --out /tmp/m
  scripts/kernel-matrix ~/src/linux/arch/x86/boot/bzImage --filter 'MQ-OV-*'
  scripts/kernel-matrix --list
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from .apt import PrivateApt, list_lines
from .boot import boot_with_retry, save_console
from .build import build_hinix, build_init, build_initramfs
from .common import DEFAULT_LINES, REPO, SMOKE_LINES, START, HarnessBroken, progress
from .fetch import fetch_images, resolve
from .report import assemble, render_terminal, validate_report, write_outputs

TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests")

def main(argv):
    parser = argparse.ArgumentParser(add_help=False, usage=argparse.SUPPRESS)
    parser.add_argument("kernels", nargs="*")
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--out", default=os.path.join(REPO, "results/kernels"))
    parser.add_argument("--cache", default=os.environ.get("HINIX_KERNEL_CACHE", os.path.join(REPO, ".build-kernels")))
    parser.add_argument("--flavour", default="cloud-amd64")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--deadline", type=int, default=300)
    parser.add_argument("--boot-deadline", type=int, default=90)
    parser.add_argument("--check-timeout", type=int, default=60)
    parser.add_argument("--filter")
    parser.add_argument("--hinix")
    parser.add_argument("--refresh", action="store_true")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    try:
        options = parser.parse_args(argv)
    except SystemExit:
        print("kernel-matrix: bad arguments (try --help)", file=sys.stderr)
        return 2
    if options.help:
        print(__doc__.strip())
        return 0
    if options.self_test or options.smoke:
        if not self_test():
            return 1
        if options.self_test:
            return 0
        options.kernels = options.kernels or SMOKE_LINES
        options.out = tempfile.mkdtemp(prefix="kernel-matrix-smoke-")
    if options.parallel < 1 or options.deadline < 10 or options.check_timeout < 1:
        print("kernel-matrix: --parallel must be ≥ 1, --deadline ≥ 10, --check-timeout ≥ 1", file=sys.stderr)
        return 2
    command = "scripts/kernel-matrix" + "".join(" " + a for a in argv)
    options.out = os.path.abspath(options.out)
    try:
        if options.report_only:
            return report_only(options, command)
        return run_matrix(options, command)
    except HarnessBroken as error:
        progress(f"harness broken: {error}")
        return 1


def self_test():
    """Runs the package's pytest suite (kernelmatrix/tests) in a child python3;
    True when it passed."""
    import importlib.util
    if importlib.util.find_spec("pytest") is None:
        print("kernel-matrix: the self-test needs pytest (python3 -m pip install pytest)", file=sys.stderr)
        return False
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS]
    progress("self-test: " + " ".join(command[1:]))
    status = subprocess.run(command, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}).returncode
    print(f"self-test: {'passed' if status == 0 else f'failed (pytest exit status {status})'}")
    return status == 0


def report_only(options, command):
    matrix = json.load(open(os.path.join(options.out, "matrix.json")))
    entries = []
    for k in matrix["kernels"]:
        path = os.path.join(options.out, k["label"], "report.json")
        report = json.load(open(path)) if os.path.exists(path) else None
        entries.append({**k, "report": report, "imageName": k.get("image")})
    rebuilt = assemble(entries, matrix["totalSeconds"], matrix["parallel"], matrix["command"])
    for key in ("date", "buildSeconds", "bootsSeconds"):
        rebuilt[key] = matrix.get(key)
    write_outputs(rebuilt, options.out)
    sys.stdout.write(render_terminal(rebuilt))
    return 0


def run_matrix(options, command):
    for tool in ["qemu-system-x86_64", "timeout", "gcc", "strip", "dpkg-deb", "tar"]:
        if not shutil.which(tool):
            raise HarnessBroken(f"{tool} is not installed (scripts/ensure-packages qemu-system-x86 gcc binutils)")
    cache = os.path.abspath(options.cache)
    work = os.path.join(cache, "work")
    os.makedirs(work, exist_ok=True)
    apt = PrivateApt(os.path.join(cache, "apt"))
    if options.list:
        return list_lines(apt, options)
    requests = options.kernels or DEFAULT_LINES
    for request in requests:
        if not (re.fullmatch(r"\d+\.\d+", request) or request.startswith("linux-") or os.path.sep in request):
            print(f"kernel-matrix: {request!r} is not a kernel line (6.12), a package (linux-image-…) or a path", file=sys.stderr)
            return 2

    build_seconds = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        # The build is CPU, the download network: both at once.
        building = pool.submit(build_hinix, work) if not options.hinix else None
        kernels = resolve(requests, apt, options.flavour, options.refresh)
        progress("kernels: " + ", ".join(f"{k.label} ({k.image_package or k.image})" for k in kernels))
        fetch_images(kernels, apt, cache)
        if building:
            hinix, build_seconds = building.result()
        else:
            hinix = os.path.abspath(options.hinix)
    init = build_init(work)
    initramfs = build_initramfs(work, init, hinix)
    progress(f"initramfs: {os.path.getsize(initramfs) // 1048576} MB; booting {len(kernels)} kernels, {options.parallel} at a time")

    boots_started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=options.parallel) as pool:
        list(pool.map(lambda k: boot_with_retry(k, initramfs, work, options), kernels))
    boots_seconds = time.monotonic() - boots_started

    entries = []
    broken = []
    for kernel in kernels:
        final = kernel.result[-1]
        report = final["report"]
        problem = final["problem"]
        if report is not None:
            schema_problem = validate_report(report)
            if schema_problem:
                broken.append(f"{kernel.label}: {schema_problem}")
        directory = os.path.join(options.out, kernel.label)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        save_console(final["console"], os.path.join(directory, "console.log"))
        if report is not None:
            with open(os.path.join(directory, "report.json"), "w") as file:
                json.dump({k: v for k, v in report.items() if not k.startswith("_")}, file, indent=2, sort_keys=True)
                file.write("\n")
        for attempt in kernel.result[:-1]:
            save_console(attempt["console"], os.path.join(directory, f"console-attempt-{attempt['attempt']}.log"))
        entries.append({
            "label": kernel.label, "package": kernel.image_package, "version": kernel.version,
            "imageName": os.path.basename(kernel.image), "report": report, "problem": problem,
            "bootSeconds": final["bootSeconds"], "wallSeconds": final["wallSeconds"],
            "attempts": [{"attempt": a["attempt"], "wallSeconds": a["wallSeconds"], "bootSeconds": a["bootSeconds"],
                          "problem": a["problem"]} for a in kernel.result],
        })
    total = time.monotonic() - START
    matrix = assemble(entries, total, options.parallel, command)
    matrix["buildSeconds"] = round(build_seconds, 1) if build_seconds is not None else None
    matrix["bootsSeconds"] = round(boots_seconds, 1)
    write_outputs(matrix, options.out)
    sys.stdout.write(render_terminal(matrix))
    print(f"static build {matrix['buildSeconds']} s, boots {boots_seconds:.0f} s, total {total:.0f} s; "
          f"written to {options.out}/matrix.md and matrix.json")
    if broken:
        for line in broken:
            progress(f"harness broken: {line}")
        return 1
    infra = [k for k in matrix["kernels"] if k["status"] != "report"]
    if infra:
        progress(f"{len(infra)} kernel(s) ended as infrastructure errors: {', '.join(k['label'] for k in infra)}")
        return 3
    return 0
