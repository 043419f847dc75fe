#!/usr/bin/env python3
"""Training throughput on Inertia384 (bench/inertia384.eqnn, 3 bilinear gated
layers of 384 coordinates under O(3)), one run, the same machine and cores:
`eqnnc train` (via `eqnnc time`), the module `eqnnc --emit pytorch` writes
(float32, torch's CPU threads, Adam), and EMLP's own Inertia model (ch=384)
when its venv exists. Forward too. Samples per second, batch 512.

    /usr/bin/python3 bench/pytorch.py [--seconds 5] [--emlp /tmp/venv-emlp/bin/python]

Debian's python3-torch provides torch for /usr/bin/python3. Its OpenBLAS threads contend
with torch's for the cores (bench/module.py); this script runs it with
OPENBLAS_NUM_THREADS=1 unless the environment says otherwise.
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time

import one_openblas_thread  # noqa: F401,E402  (before torch loads OpenBLAS)
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# $EQNNC: an eqnnc binary to use instead of building .build/release/eqnnc.
EQNNC = os.environ.get("EQNNC") or os.path.join(ROOT, ".build", "release", "eqnnc")
OUT = os.path.join(ROOT, ".build", "pytorch-bench")


def module():
    subprocess.run([EQNNC, "bench/inertia384.eqnn", "--emit", "pytorch", "-o", OUT], cwd=ROOT, check=True, capture_output=True)
    spec = importlib.util.spec_from_file_location("inertia384", os.path.join(OUT, "inertia384.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m.Model


def rate(step, batch, seconds):
    """Samples per second of step(), best of the repetitions that fit the time."""
    step()
    best, start = float("inf"), time.time()
    while time.time() - start < seconds:
        t = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t)
    return batch / best


def torch_rates(batch, seconds, dtype):
    model = module()().to(dtype)
    x, y = torch.randn(batch, 20, dtype=dtype), torch.randn(batch, 9, dtype=dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train():
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def forward():
        with torch.no_grad():
            model(x)

    return rate(forward, batch, seconds), rate(train, batch, seconds)


def eqnnc_rates(batch, seconds, precision):
    out = subprocess.run([EQNNC, "time", "bench/inertia384.eqnn", "--batch", str(batch), "--train-batch", str(batch),
                          "--seconds", str(seconds), "--precision", precision], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    forward = re.search(r"forward, batch %d: ([\d,]+) samples/s" % batch, out)
    train = re.search(r"training, batch \d+: ([\d,]+) samples/s", out)
    number = lambda m: float(m.group(1).replace(",", "")) if m else float("nan")
    return number(forward), number(train), out


def emlp_rates(python, epochs=2):
    """EMLP's Inertia model (ch=384, 3 layers) from the peer's model.py: forward samples/s and epoch time on 3000 samples."""
    peer = os.path.join(os.path.dirname(ROOT), "shared", "peers", "emlp")
    env = dict(os.environ, PYTHONPATH=peer, EMLP_RESULTS=os.path.join(OUT, "emlp"))
    out = subprocess.run([python, os.path.join(peer, "model.py"), "--datasets", "Inertia", "--models", "EMLP",
                          "--epochs", str(epochs)], capture_output=True, text=True, env=env, cwd=peer).stdout
    forward = re.search(r"fwd=(\d+)/s", out)
    epoch = re.search(r"epoch=([\d.]+)s", out)
    if not (forward and epoch):
        return float("nan"), float("nan"), out
    return float(forward.group(1)), 3000 / float(epoch.group(1)), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--emlp", default="/tmp/venv-emlp/bin/python")
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)  # every core, as eqnnc train uses
    if "EQNNC" not in os.environ:
        subprocess.run(["swift", "build", "-c", "release", "--product", "eqnnc"], cwd=ROOT, check=True, capture_output=True)
    print(f"Inertia384, batch {a.batch}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"{'engine':44} {'forward':>10} {'training':>10}  (samples/s)")
    rows = []
    for precision in ("f32", "f64"):
        f, t, _ = eqnnc_rates(a.batch, a.seconds, precision)
        rows.append((f"eqnnc train --precision {precision}", f, t))
    for dtype, name in ((torch.float32, "float32"), (torch.float64, "float64")):
        f, t = torch_rates(a.batch, a.seconds, dtype)
        rows.append((f"PyTorch module ({name}, CPU)", f, t))
    if os.path.exists(a.emlp):
        f, t, _ = emlp_rates(a.emlp)
        rows.append(("EMLP Inertia, ch=384 (float32; epoch of 3000)", f, t))
    for name, f, t in rows:
        print(f"{name:44} {f:10,.0f} {t:10,.0f}", flush=True)
    base = rows[0][2]
    print(f"training, relative to eqnnc train --precision f32: " +
          ", ".join(f"{name.split(' (')[0]} {t / base:.2f}x" for name, _, t in rows[1:]))


if __name__ == "__main__":
    sys.exit(main())
