"""Imported first by the bench scripts that run NumPy or torch: Debian's torch and NumPy
multiply with OpenBLAS, whose own threads contend with torch's OpenMP threads for the cores
(a small product 1.6 ms instead of 50 us; bench/module.py). One OpenBLAS thread, unless the
environment says otherwise; it must be set before NumPy or torch loads OpenBLAS."""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
