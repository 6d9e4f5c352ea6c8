"""What the guest runs: the static hinix, /init, and the initramfs holding both."""

import os
import shutil
import time

from .common import REPO, HarnessBroken, progress, run

def find_swift():
    swift = shutil.which("swift")
    if swift:
        return swift
    if os.access("/opt/swift/usr/bin/swift", os.X_OK):
        return "/opt/swift/usr/bin/swift"
    raise HarnessBroken("swift is not on PATH (nor in /opt/swift/usr/bin)")


def build_hinix(work):
    progress("build: swift build --static-swift-stdlib -static-executable --product hinix (the first time takes minutes)")
    started = time.monotonic()
    run([find_swift(), "build", "-c", "release", "--static-swift-stdlib", "-Xswiftc", "-static-executable",
         "--product", "hinix", "--scratch-path", os.path.join(REPO, ".build-static")], cwd=REPO)
    built = os.path.join(REPO, ".build-static/release/hinix")
    stripped = os.path.join(work, "hinix")
    run(["strip", "-o", stripped + ".tmp", built])
    os.replace(stripped + ".tmp", stripped)
    seconds = time.monotonic() - started
    progress(f"build: static hinix ready in {seconds:.0f} s ({os.path.getsize(built) // 1048576} MB, "
             f"{os.path.getsize(stripped) // 1048576} MB stripped)")
    return stripped, seconds


def build_init(work):
    source = os.path.join(REPO, "scripts/kernel-matrix-init.c")
    init = os.path.join(work, "init")
    if not os.path.exists(init) or os.path.getmtime(init) < os.path.getmtime(source):
        run(["gcc", "-static", "-Os", "-Wall", "-o", init + ".tmp", source])
        os.replace(init + ".tmp", init)
    return init


def newc_archive(entries):
    """An uncompressed newc cpio archive. entries: (name, mode, bytes or None,
    (major, minor) for a device or None)."""
    out = bytearray()

    def header(inode, name, mode, size, rdev):
        fields = [inode, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
        return b"070701" + b"".join(b"%08X" % value for value in fields)

    def pad():
        out.extend(b"\0" * (-len(out) % 4))

    for inode, (name, mode, data, rdev) in enumerate(entries, start=1):
        out += header(inode, name, mode, len(data or b""), rdev or (0, 0)) + name.encode() + b"\0"
        pad()
        out += data or b""
        pad()
    out += header(0, "TRAILER!!!", 0, 0, (0, 0)) + b"TRAILER!!!\0"
    pad()
    return bytes(out)


def build_initramfs(work, init, hinix):
    entries = [
        ("dev", 0o040755, None, None),
        ("dev/console", 0o020600, None, (5, 1)),
        ("proc", 0o040755, None, None),
        ("sys", 0o040755, None, None),
        ("tmp", 0o041777, None, None),
        ("init", 0o100755, open(init, "rb").read(), None),
        ("hinix", 0o100755, open(hinix, "rb").read(), None),
    ]
    path = os.path.join(work, "initramfs.cpio")
    with open(path + ".tmp", "wb") as file:
        file.write(newc_archive(entries))
    os.replace(path + ".tmp", path)
    return path
