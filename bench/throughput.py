#!/usr/bin/env python3
"""Interpreter throughput for the inertia model at EMLP's width (bench/inertia384.eqnn),
next to the same dense matrix products in NumPy (OpenBLAS), measured in this run.

    python3 bench/throughput.py [--seconds 2]

eqnnc: `eqnnc time` (forward with the weights expanded from the coefficients every
pass, at batch 1 and 512; training steps at batch 500: forward, backward, Adam).
NumPy baseline: only the linear layers' dense products X @ W^T of the same shapes
(float64), forward, and forward plus the two backward products for training; no
activations, no bilinear terms, no weight expansion, so it is a lower bound on the
work, not a model.
"""
import argparse, json, os, subprocess, sys, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.path.join(ROOT, ".build", "release", "eqnnc")
MODEL = os.path.join(ROOT, "bench", "inertia384.eqnn")


def best(fn, seconds):
    fn()
    t_best, deadline, runs = float("inf"), time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline or runs < 3:
        t = time.perf_counter(); fn(); t_best = min(t_best, time.perf_counter() - t); runs += 1
    return t_best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2)
    args = ap.parse_args()
    graph = json.loads(subprocess.run([EQNNC, MODEL, "--emit", "graph"], capture_output=True, text=True, check=True).stdout)
    shapes = [(op["basis"]["columns"], op["basis"]["rows"]) for op in graph["ops"] if op["op"] == "linear"]
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((o, i)) for i, o in shapes]
    print(subprocess.run([EQNNC, "time", MODEL, "--batch", "1,512", "--train-batch", "500", "--seconds", str(args.seconds)],
                         capture_output=True, text=True, check=True).stdout, end="")
    print(f"NumPy {np.__version__} dense products of the same shapes {shapes}:")
    for batch in (1, 512):
        x0 = rng.standard_normal((batch, shapes[0][0]))
        def forward():
            x = x0
            for w in weights:
                x = x[:, :w.shape[1]] @ w.T
        t = best(forward, args.seconds)
        print(f"  forward, batch {batch}: {int(batch / t)} samples/s")
    x0 = rng.standard_normal((500, shapes[0][0]))
    def train():
        xs, x = [], x0
        for w in weights:
            x = x[:, :w.shape[1]]
            xs.append(x); x = x @ w.T
        g = np.ones_like(x)
        for w, xin in zip(reversed(weights), reversed(xs)):
            g = g[:, :w.shape[0]] if g.shape[1] >= w.shape[0] else np.ones((g.shape[0], w.shape[0]))
            _ = g.T @ xin
            g = g @ w
    t = best(train, args.seconds)
    print(f"  training, batch 500: {int(500 / t)} samples/s (forward and backward products only)")


if __name__ == "__main__":
    main()
