"""kernelmatrix's tests: python3 -m pytest -q scripts (or scripts/kernel-matrix --self-test)."""
