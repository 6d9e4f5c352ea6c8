"""Reading what /init sends on the second serial port, and console logs."""

import json

from kernelmatrix.boot import console_reason, parse_serial, save_console


def test_serial_parser(report):
    body = json.dumps(report("6.1", {"A": "pass"})).encode()
    good = (b"HINIX-MATRIX-INIT uptime=4.5\nHINIX-MATRIX-BEGIN status=1 bytes=%d uptime=9.0 seconds=4.0\n" % len(body)
            + body + b"\nHINIX-MATRIX-END\n")
    boot, parsed, problem = parse_serial(good)
    assert (boot, problem) == (4.5, None)
    assert parsed["_exitStatus"] == 1
    assert parsed["host"]["kernelRelease"] == "6.1"
    _, parsed, problem = parse_serial(good[:-40])
    assert parsed is None
    assert "cut short" in problem
    assert "never reached /init" in parse_serial(b"")[2]
    assert "never finished" in parse_serial(b"HINIX-MATRIX-INIT uptime=3.0\n")[2]
    usage = b"HINIX-MATRIX-INIT uptime=3.0\nHINIX-MATRIX-BEGIN status=64 bytes=0 uptime=3.1 seconds=0.1\n\nHINIX-MATRIX-END\n"
    assert "status 64" in parse_serial(usage)[2]
    other = b'{"schema": "something-else"}'
    wrong = (b"HINIX-MATRIX-INIT uptime=3.0\nHINIX-MATRIX-BEGIN status=0 bytes=%d uptime=3.1 seconds=0.1\n" % len(other)
             + other + b"\nHINIX-MATRIX-END\n")
    assert "not a hinix-conform/1 report" in parse_serial(wrong)[2]


def test_console_reason():
    assert console_reason("boot\nKernel panic - not syncing: VFS\nmore") == "Kernel panic - not syncing: VFS"
    assert console_reason("line one\n\x1b[2Jlast line\n\n") == "last console line: last line"
    assert console_reason("") is None


def test_save_console_drops_escapes(tmp_path):
    source, destination = tmp_path / "in", tmp_path / "out"
    source.write_bytes(b"\x1bc\x1b[?7lSeaBIOS\r\nLinux version\r\n")
    save_console(str(source), str(destination))
    assert destination.read_text() == "SeaBIOS\nLinux version\n"
