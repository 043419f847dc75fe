#!/usr/bin/env python3
"""EMLP (Finzi, Welling, Wilson 2021) itself on the FWW21 data eqnnc trains on,
with the same protocol as bench/fww21.py: N training samples, the same 1000
validation samples for early stopping, 5000 test samples, Adam lr 3e-3 with a
cosine schedule, batch 500, min(900,000 / N, 1000) epochs (fww21.py's
default budget); EMLP(ch=384, 3 layers) in
emlp.nn.Standardize with the statistics emlp's own dataset classes use.

Needs the emlp venv (bash ../shared/peers/emlp/setup.sh /tmp/venv-emlp) and the
data that `python3 bench/fww21.py table` writes to .build/fww21/:

    PYTHONPATH=../shared/peers/emlp /tmp/venv-emlp/bin/python bench/fww21_emlp.py o5 [--n 1000]

Prints the test MSE, the seconds to first reach the paper's EMLP MSE on the
validation set, and appends to .build/fww21/curve_emlp.csv.
"""
import argparse
import csv
import os
import time

import emlp_compat  # noqa: F401  (the peer's shims for jax; sets JAX_PLATFORMS=cpu)
import jax.numpy as jnp
import numpy as np
import objax
import emlp.nn as enn
from emlp.groups import O, Lorentz
from emlp.reps import Scalar, Vector, T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, ".build", "fww21")
PAPER_EMLP = {"o5": 0.017, "inertia": 0.136, "lorentz": 3.3e-4}


def load(task, split, n):
    return (np.load(os.path.join(OUT, f"{task}.{split}{n}.x.npy")).astype(np.float32),
            np.load(os.path.join(OUT, f"{task}.{split}{n}.y.npy")).astype(np.float32))


def setup(task, x, y):
    """Group, representations and Standardize statistics as emlp.datasets computes them."""
    n = len(x)
    if task == "o5":
        scale = np.sqrt((x.reshape(n, 2, 5) ** 2).mean((0, 2)))
        stats = 0, np.repeat(scale, 5), y.mean(0), y.std(0)
        return O(5), 2 * Vector, Scalar, stats
    if task == "inertia":
        return O(3), 5 * Scalar + 5 * Vector, T(2), (0, 1, 0, 1)
    eta = np.diag([1.0, -1.0, -1.0, -1.0])
    p = x.reshape(n, 4, 4)
    scale = np.sqrt(np.abs((p @ eta) * p).mean(-1).mean(0))
    return Lorentz(), 4 * Vector, Scalar, (0, np.repeat(scale, 4), y.mean(0), y.std(0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["o5", "inertia", "lorentz"])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    np.random.seed(a.seed)
    xtr, ytr = load(a.task, "train", a.n)
    xva, yva = load(a.task, "val", 1000)
    xte, yte = load(a.task, "test", 5000)
    group, rep_in, rep_out, stats = setup(a.task, xtr, ytr)
    start = time.perf_counter()
    model = enn.Standardize(enn.EMLP(rep_in, rep_out, group=group, ch=384, num_layers=3), stats)
    build = time.perf_counter() - start
    opt = objax.optimizer.Adam(model.vars())
    loss = lambda x, y: ((model(x, training=True) - y) ** 2).mean()
    grad_values = objax.GradValues(loss, model.vars())

    @objax.Function.with_vars(model.vars() + opt.vars())
    def step(x, y, lr):
        g, v = grad_values(x, y)
        opt(lr=lr, grads=g)
        return v

    step = objax.Jit(step)
    evaluate = objax.Jit(lambda x, y: ((model(x, training=False) - y) ** 2).mean(), model.vars())

    def mse(x, y):
        return sum(float(evaluate(jnp.asarray(x[i:i + 500]), jnp.asarray(y[i:i + 500]))) * len(x[i:i + 500])
                   for i in range(0, len(x), 500)) / len(x)

    epochs, batch = min(900000 // a.n, 1000), min(500, a.n)
    best, best_vars, reached, training = float("inf"), None, None, 0.0
    for epoch in range(epochs):
        lr = 3e-3 * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        t = time.perf_counter()
        order = np.random.permutation(a.n)
        for i in range(0, a.n, batch):
            idx = order[i:i + batch]
            step(jnp.asarray(xtr[idx]), jnp.asarray(ytr[idx]), lr)
        training += time.perf_counter() - t
        val = mse(xva, yva)
        if reached is None and val <= PAPER_EMLP[a.task]:
            reached = (epoch + 1, training)
        if val < best:
            best, best_vars = val, [v.value for v in model.vars().values()]
        if (epoch + 1) % max(1, epochs // 10) == 0:
            print(f"epoch {epoch + 1}/{epochs} val {val:.3e} ({training:.0f} s training)", flush=True)
    for v, value in zip(model.vars().values(), best_vars):
        v.value = value
    test = mse(xte, yte)
    reach = f"{reached[1]:.1f} s (epoch {reached[0]})" if reached else "not reached"
    print(f"EMLP {a.task} N={a.n}: test MSE {test:.3e}; build {build:.1f} s, training {training:.1f} s; "
          f"validation MSE <= {PAPER_EMLP[a.task]:g} after {reach}")
    path = os.path.join(OUT, "curve_emlp.csv")
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["task", "n", "test_mse", "build_seconds", "training_seconds", "seconds_to_paper_mse"])
        w.writerow([a.task, a.n, test, round(build, 1), round(training, 1), round(reached[1], 1) if reached else ""])


if __name__ == "__main__":
    main()
