"""kernel-matrix: runs `hinix conform` on a matrix of Linux kernels under qemu
and reports catalog ID x kernel. scripts/kernel-matrix is its entry point
(python3 scripts/kernel-matrix --help); `python3 -m kernelmatrix` from scripts/
does the same.

Modules:
  common   paths, defaults, progress lines, running commands (HarnessBroken)
  apt      the private apt configuration, Debian package names and versions
  fetch    resolving kernel requests to packages and fetching their images
  build    the static hinix, the guest's /init, the newc initramfs
  boot     booting one kernel under qemu (with its retry), reading its serial port
  report   the matrix: catalog rows x kernels, terminal and Markdown renderings
  cli      the command line (main)

Tests: kernelmatrix/tests (python3 -m pytest -q scripts).
"""
