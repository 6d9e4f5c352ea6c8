"""Booting one kernel under qemu, reading the report /init sends on the second
serial port, and the retry."""

import json
import os
import re
import subprocess
import time

from .common import progress

def parse_serial(data):
    """Reads what /init wrote on ttyS1. Returns (boot_seconds, report, problem):
    report is hinix's parsed JSON, or None with problem saying why."""
    text = data.decode("utf-8", "replace")
    boot = None
    init = re.search(r"HINIX-MATRIX-INIT uptime=([\d.]+)\n", text)
    if init:
        boot = float(init.group(1))
    else:
        return None, None, "the guest never reached /init (kernel crash or hang at boot)"
    begin = re.search(rb"HINIX-MATRIX-BEGIN status=(-?\d+) bytes=(\d+) uptime=([\d.]+) seconds=([\d.]+)\n", data)
    if not begin:
        return boot, None, "/init started, but hinix conform never finished (guest hang or crash during the run)"
    status, size = int(begin.group(1)), int(begin.group(2))
    body = data[begin.end(): begin.end() + size]
    if len(body) < size or not data[begin.end() + size:].startswith(b"\nHINIX-MATRIX-END"):
        return boot, None, f"the report was cut short ({len(body)} of {size} bytes arrived)"
    if status not in (0, 1, 2):
        return boot, None, f"hinix conform exited with status {status} ({body[-300:].decode('utf-8', 'replace').strip() or 'no output'})"
    try:
        report = json.loads(body)
    except ValueError as error:
        return boot, None, f"the report is not JSON: {error}"
    if report.get("schema") != "hinix-conform/1" or "results" not in report:
        return boot, None, "the report is not a hinix-conform/1 report"
    report["_exitStatus"] = status
    return boot, report, None


def console_reason(console):
    """A short reason from the console log of a failed boot: a panic or oops
    line if there is one, else the last line the console showed."""
    for pattern in [r"Kernel panic[^\n]*", r"BUG: [^\n]*", r"general protection fault[^\n]*", r"Oops[^\n]*"]:
        match = re.search(pattern, console)
        if match:
            return match.group(0).strip()[:200]
    lines = [line.strip() for line in re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|c)", "", console).splitlines() if line.strip()]
    return "last console line: " + lines[-1][:160] if lines else None


def boot_once(kernel, initramfs, directory, options, attempt):
    os.makedirs(directory, exist_ok=True)
    serial = os.path.join(directory, f"serial-{attempt}.out")
    console_path = os.path.join(directory, f"console-{attempt}.log")
    for path in (serial, console_path):
        if os.path.exists(path):
            os.remove(path)
    guest_args = ["conform", "--format", "json", "--timeout", str(options.check_timeout)]
    if options.filter:
        guest_args += ["--filter", options.filter]
    append = "console=ttyS0 quiet panic=-1 mitigations=off -- " + " ".join(guest_args)
    command = [
        "timeout", "--kill-after=5", str(options.deadline),
        "qemu-system-x86_64", "-accel", "tcg", "-m", "512M", "-smp", "1",
        "-kernel", kernel.image, "-initrd", initramfs, "-append", append,
        "-nographic", "-no-reboot",
        "-chardev", f"file,id=report,path={serial}",
        "-serial", "mon:stdio", "-serial", "chardev:report",
    ]
    started = time.monotonic()
    with open(console_path, "wb") as console:
        qemu = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                start_new_session=True)
        killed = None
        while qemu.poll() is None:
            time.sleep(0.25)
            elapsed = time.monotonic() - started
            if elapsed > options.boot_deadline and not _serial_has(serial, b"HINIX-MATRIX-INIT"):
                killed = f"no /init within {options.boot_deadline} s"
                os.killpg(qemu.pid, 9)
                qemu.wait()
                break
    wall = time.monotonic() - started
    data = open(serial, "rb").read() if os.path.exists(serial) else b""
    boot, report, problem = parse_serial(data)
    console_text = open(console_path, "rb").read().decode("utf-8", "replace")
    if report is None:
        if killed:
            problem = f"{problem}: killed, {killed}"
        elif qemu.returncode in (124, 137):
            problem = f"{problem}: no report within {options.deadline} s"
        else:
            problem = f"{problem}: qemu exited with status {qemu.returncode} after {wall:.1f} s"
        reason = console_reason(console_text)
        if reason:
            problem = f"{problem} [{reason}]"
    return {"attempt": attempt, "wallSeconds": round(wall, 1), "bootSeconds": boot,
            "qemuStatus": qemu.returncode, "report": report, "problem": problem,
            "console": console_path, "serial": serial}


def _serial_has(path, marker):
    try:
        with open(path, "rb") as file:
            return marker in file.read(4096)
    except OSError:
        return False


def boot_with_retry(kernel, initramfs, work, options):
    directory = os.path.join(work, "runs", kernel.label)
    attempts = []
    for attempt in (1, 2):
        progress(f"{kernel.label}: booting{' again (retry)' if attempt == 2 else ''}")
        outcome = boot_once(kernel, initramfs, directory, options, attempt)
        attempts.append(outcome)
        if outcome["report"] is not None:
            s = outcome["report"]["summary"]
            progress(f"{kernel.label}: {s['pass']} pass, {s['fail']} fail, {s['skip']} skip, {s['error']} error; "
                     f"boot {outcome['bootSeconds']:.1f} s, run {outcome['report']['seconds']:.1f} s, "
                     f"wall {outcome['wallSeconds']:.1f} s")
            break
        progress(f"{kernel.label}: attempt {attempt} gave no report: {outcome['problem']}")
    kernel.result = attempts
    return attempts



def save_console(source, destination):
    """Copies a console log without the BIOS's terminal escape sequences."""
    text = open(source, "rb").read().decode("utf-8", "replace")
    text = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|c)", "", text).replace("\r\n", "\n")
    with open(destination, "w") as file:
        file.write(text)
