"""The initramfs: an uncompressed newc cpio archive written by hand."""

import shutil
import subprocess

import pytest

from kernelmatrix.build import build_initramfs, newc_archive


def read_newc(archive):
    """[(name, mode, data, (rdevmajor, rdevminor))] of a newc archive, read here
    independently of the code under test; stops at TRAILER!!!."""
    entries, at = [], 0
    while True:
        assert archive[at:at + 6] == b"070701", at
        fields = [int(archive[at + 6 + 8 * i: at + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rdev, name_size = fields[1], fields[6], (fields[9], fields[10]), fields[11]
        at += 110
        name = archive[at:at + name_size - 1].decode()
        assert archive[at + name_size - 1] == 0
        at += name_size + (-(110 + name_size) % 4)
        data = archive[at:at + size]
        at += size + (-size % 4)
        if name == "TRAILER!!!":
            assert at == len(archive)
            return entries
        entries.append((name, mode, data, rdev))


def test_newc_archive():
    archive = newc_archive([("init", 0o100755, b"abc", None), ("dev/console", 0o020600, None, (5, 1))])
    assert archive.startswith(b"070701")
    assert len(archive) % 4 == 0
    assert read_newc(archive) == [("init", 0o100755, b"abc", (0, 0)), ("dev/console", 0o020600, b"", (5, 1))]


def test_initramfs_holds_init_and_hinix(tmp_path):
    init, hinix = tmp_path / "init", tmp_path / "hinix"
    init.write_bytes(b"#!init")
    hinix.write_bytes(b"\x7fELF" + bytes(range(256)) * 3)
    entries = read_newc(open(build_initramfs(str(tmp_path), str(init), str(hinix)), "rb").read())
    assert [(name, oct(mode)) for name, mode, _, _ in entries] == [
        ("dev", "0o40755"), ("dev/console", "0o20600"), ("proc", "0o40755"), ("sys", "0o40755"),
        ("tmp", "0o41777"), ("init", "0o100755"), ("hinix", "0o100755")]
    assert entries[1][3] == (5, 1)
    assert entries[5][2] == b"#!init" and entries[6][2] == hinix.read_bytes()
    assert not (tmp_path / "initramfs.cpio.tmp").exists()


@pytest.mark.skipif(not shutil.which("cpio"), reason="cpio is not installed")
def test_newc_archive_reads_back_with_cpio(tmp_path):
    init, hinix = tmp_path / "init", tmp_path / "hinix"
    init.write_bytes(b"#!init")
    hinix.write_bytes(b"\x7fELF" + bytes(range(256)) * 3)
    path = build_initramfs(str(tmp_path), str(init), str(hinix))
    archive = open(path, "rb").read()
    listing = subprocess.run(["cpio", "-t", "--quiet"], input=archive, stdout=subprocess.PIPE).stdout.split()
    assert listing == [b"dev", b"dev/console", b"proc", b"sys", b"tmp", b"init", b"hinix"]
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["cpio", "-i", "--quiet", "--no-absolute-filenames", "init", "hinix"], input=archive,
                   cwd=out, check=True)
    assert (out / "hinix").read_bytes() == hinix.read_bytes()
    assert (out / "init").read_bytes() == b"#!init"
