"""What every part of kernel-matrix shares: paths, defaults, progress lines, running commands."""

import os
import subprocess
import sys
import threading
import time

# The repository: this file is scripts/kernelmatrix/common.py.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_LINES = ["5.10", "6.1", "6.12", "6.18", "7.0", "7.3"]
SMOKE_LINES = ["5.10", "7.3"]
SUITES = [
    ("http://deb.debian.org/debian", "bookworm"),
    ("http://deb.debian.org/debian", "bookworm-backports"),
    ("http://deb.debian.org/debian-security", "bookworm-security"),
    ("http://deb.debian.org/debian", "bullseye"),
    ("http://deb.debian.org/debian", "trixie"),
    ("http://deb.debian.org/debian", "trixie-backports"),
    ("http://deb.debian.org/debian", "sid"),
]
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
VERDICT_MARK = {"pass": "P", "fail": "F", "skip": "s", "error": "E", "timeout": "T", None: "."}

START = time.monotonic()
_print_lock = threading.Lock()


def progress(message):
    with _print_lock:
        print(f"[{time.monotonic() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


class HarnessBroken(Exception):
    """The matrix itself cannot be produced (not a kernel's fault)."""


def run(command, **kwargs):
    """Runs a command, raising HarnessBroken with its output if it fails."""
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.strip().splitlines()[-15:])
        raise HarnessBroken(f"{' '.join(command[:4])} ... failed with status {result.returncode}:\n{tail}")
    return result.stdout
