"""python3 -m kernelmatrix (from scripts/): the same as scripts/kernel-matrix."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
