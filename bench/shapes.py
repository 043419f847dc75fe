#!/usr/bin/env python3
"""What the symmetry buys on images (issue 8): per-pixel segmentation of random
shapes (`eqnnc data shapes`), trained on upright shapes only (triangles point
up, bars lie flat), tested on upright images and on the same images turned or
mirrored by random elements of p4m. The P4M network (bench/shapes_p4m.eqnn)
is exactly equivariant to those, so its accuracy cannot drop; the plain CNN of
the same widths and kernels (bench/shapes_plain.eqnn) has to learn each
orientation from data.

    swift build -c release && python3 bench/shapes.py [--train 400] [--epochs 40] [--extent 24]

Needs NumPy only (any python3). Trains with --precision f32.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import one_openblas_thread  # noqa: F401  (before NumPy and torch load OpenBLAS)
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.path.join(ROOT, ".build", "release", "eqnnc")
NETWORKS = [("P4M (4*Regular)", "bench/shapes_p4m.eqnn"), ("plain CNN (32 channels)", "bench/shapes_plain.eqnn")]


def p4m(images, k):
    """Element k of p4m on (n, n, ...) arrays: k % 4 quarter turns, then a mirror for k >= 4."""
    out = np.rot90(images, k % 4, axes=(0, 1))
    return out[:, ::-1] if k >= 4 else out


def run(*args):
    return subprocess.run([EQNNC, *args], check=True, capture_output=True, text=True)


def accuracy(network, weights, x, y, work):
    xp, out = os.path.join(work, "eval_x.npy"), os.path.join(work, "eval_out.npy")
    np.save(xp, x)
    run("run", network, "--weights", weights, "--input", xp, "--output", out)
    return float((np.load(out).argmax(-1) == y[..., 0]).mean())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--extent", type=int, default=24)
    args = parser.parse_args()
    if not os.path.exists(EQNNC):
        sys.exit("build first: swift build -c release")
    work = tempfile.mkdtemp(prefix="eqnnc-shapes-")
    tx, ty = os.path.join(work, "train_x.npy"), os.path.join(work, "train_y.npy")
    vx, vy = os.path.join(work, "test_x.npy"), os.path.join(work, "test_y.npy")
    run("data", "shapes", "--samples", str(args.train), "--extent", str(args.extent), "--seed", "1", "--x", tx, "--y", ty)
    run("data", "shapes", "--samples", str(args.test), "--extent", str(args.extent), "--seed", "2", "--x", vx, "--y", vy)
    test_x, test_y = np.load(vx), np.load(vy)
    rng = np.random.default_rng(3)
    elements = rng.integers(1, 8, size=len(test_x))  # never the identity
    turned_x = np.stack([p4m(a, k) for a, k in zip(test_x, elements)])
    turned_y = np.stack([p4m(a, k) for a, k in zip(test_y, elements)])
    print(f"shapes: {args.train} upright training images of {args.extent}x{args.extent}, {args.test} test images, "
          f"{args.epochs} epochs; pixel accuracy")
    print(f"  {'network':26} {'parameters':>10} {'upright':>8} {'turned/mirrored':>16} {'loss (points)':>14} {'train s':>8}")
    for name, path in NETWORKS:
        network = os.path.join(ROOT, path)
        weights = os.path.join(work, os.path.basename(path) + ".safetensors")
        start = time.time()
        run("train", network, "--x", tx, "--y", ty, "--loss", "cross-entropy", "--epochs", str(args.epochs),
            "--batch", "16", "--seed", "0", "--precision", "f32", "-o", weights, "--quiet")
        seconds = time.time() - start
        parameters = json.loads(run("check", network, "--format", "json").stdout)["networks"][0]["parameters"]
        upright = accuracy(network, weights, test_x, test_y, work)
        turned = accuracy(network, weights, turned_x, turned_y, work)
        print(f"  {name:26} {parameters:>10,} {100 * upright:>7.2f}% {100 * turned:>15.2f}% {100 * (upright - turned):>14.2f} {seconds:>8.0f}")


if __name__ == "__main__":
    main()
