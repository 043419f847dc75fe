#!/usr/bin/env python3
"""Grid networks (issue 8), all measured in one run (the machines are shared and noisy):

1. C forward of examples/grid/segment.eqnn (P4M, 64x64 images, batch 16, float32,
   one thread, cc -O3 -march=native) against PyTorch's CPU conv2d running the same
   chain of convolutions (the same shapes: 3 -> 64 channels 3x3, 64 -> 64 3x3,
   64 -> 5 1x1, relu between; timing does not depend on the filter values), one thread,
   each side the best of two interleaved measurements; and NumPy's float32 matrix
   product (OpenBLAS, one thread) on the C's largest product, the machine's ceiling.
2. Interpreter training (`eqnnc time`, float64 and --precision f32, both cores)
   against a PyTorch training step (forward, backward, Adam) of that chain,
   float32, two threads.
3. A 512x512 image through Segment in C and in the interpreter: peak memory.

    swift build -c release && /usr/bin/python3 bench/grid.py [--seconds 2]

Debian's python3-torch installs torch for /usr/bin/python3 (bench only; never a
build or test dependency). Multiply-adds per sample are those of the dense
expanded convolutions (what PyTorch runs, and what the C's dense plan runs).
"""
import argparse, os, re, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.path.join(ROOT, ".build", "release", "eqnnc")
SEGMENT = os.path.join(ROOT, "examples", "grid", "segment.eqnn")

TIMER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "segment.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv) {
    size_t batch = (size_t)atol(argv[1]), side = (size_t)atol(argv[2]), extents[2], i, positions;
    double seconds = atof(argv[3]), best = 1e30, deadline;
    segment_real *x, *y, *workspace;
    int runs = 0;
    (void)argc;
    extents[0] = extents[1] = side;
    positions = side * side;
    x = malloc(batch * positions * SEGMENT_INPUT_DIM * sizeof *x);
    y = malloc(batch * positions * SEGMENT_OUTPUT_DIM * sizeof *y);
    workspace = malloc(segment_workspace_size(extents) * sizeof *workspace);
    for (i = 0; i < batch * positions * SEGMENT_INPUT_DIM; ++i) x[i] = (segment_real)((double)(i % 97) / 97.0 - 0.5);
    if (segment_forward(segment_baked(), x, y, batch, extents, workspace) != 0) return 1;
    deadline = now() + seconds;
    do {
        double start = now(), elapsed;
        segment_forward(segment_baked(), x, y, batch, extents, workspace);
        elapsed = now() - start;
        if (elapsed < best) best = elapsed;
        ++runs;
    } while (now() < deadline || runs < 3);
    printf("%.3f\n", batch / best);
    return 0;
}
"""

# The dense chain of Segment: (in, out, kernel) per convolution, relu after all but the last.
CHAIN = [(3, 64, 3), (64, 64, 3), (64, 5, 1)]


def macs_per_sample(side):
    return sum(i * o * k * k for i, o, k in CHAIN) * side * side


def peak_memory(command):
    """Peak resident memory (MB) of a command, from /usr/bin/time -v."""
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr}")
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return kb / 1024


SGEMM = r"""
import sys, time, numpy as np
m, k, n, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
a = np.random.default_rng(0).random((m, k), dtype=np.float32)
b = np.random.default_rng(1).random((k, n), dtype=np.float32)
a @ b
best, deadline = float("inf"), time.perf_counter() + seconds
while time.perf_counter() < deadline:
    start = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - start)
print(m * k * n / best / 1e9)
"""


def sgemm_rate(m, k, n, seconds):
    """NumPy's (OpenBLAS) float32 matrix product on one thread, GMAC/s: the ceiling."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # they force slower kernels (see the guide)
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", SGEMM, str(m), str(k), str(n), str(seconds)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def torch_rates(side, batch, seconds):
    import torch
    torch.manual_seed(0)
    layers = []
    for k, (i, o, size) in enumerate(CHAIN):
        layers.append(torch.nn.Conv2d(i, o, size, padding=size // 2))
        if k < len(CHAIN) - 1:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    x = torch.randn(batch, 3, side, side)
    target = torch.randn(batch, 5, side, side)

    def best_of(body):
        body()
        best, deadline, runs = float("inf"), time.perf_counter() + seconds, 0
        while time.perf_counter() < deadline or runs < 3:
            start = time.perf_counter()
            body()
            best = min(best, time.perf_counter() - start)
            runs += 1
        return batch / best

    torch.set_num_threads(1)
    with torch.no_grad():
        forward1 = best_of(lambda: net(x))
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), target)
        loss.backward()
        optimizer.step()

    torch.set_num_threads(2)
    train2 = best_of(step)
    return forward1, train2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2)
    args = parser.parse_args()
    if not os.path.exists(EQNNC):
        sys.exit("build first: swift build -c release")
    side, batch = 64, 16
    work = tempfile.mkdtemp(prefix="eqnnc-grid-")
    subprocess.run([EQNNC, SEGMENT, "--emit", "c", "-o", work], check=True, capture_output=True)
    with open(os.path.join(work, "timer.c"), "w") as f:
        f.write(TIMER)
    binary = os.path.join(work, "timer")
    subprocess.run(["cc", "-std=c99", "-O3", "-march=native", "-o", binary, os.path.join(work, "segment.c"),
                    os.path.join(work, "timer.c"), "-lm"], check=True)

    def c_rate():
        return float(subprocess.run([binary, str(batch), str(side), str(args.seconds)], capture_output=True, text=True,
                                    check=True).stdout)

    def interpreter_rates(precision):
        out = subprocess.run([EQNNC, "time", SEGMENT, "--extent", str(side), "--batch", str(batch), "--train-batch", str(batch),
                              "--seconds", str(args.seconds), "--precision", precision], capture_output=True, text=True, check=True).stdout
        forward = float(re.search(r"forward, batch \d+: (\d+)", out).group(1))
        train = float(re.search(r"training, batch \d+: (\d+)", out).group(1))
        return forward, train

    # Interleave the runs so that noise hits both sides alike.
    c = c_rate()
    torch_forward, torch_train = torch_rates(side, batch, args.seconds)
    interp_forward, interp_train = interpreter_rates("f64")
    _, interp_train32 = interpreter_rates("f32")
    c = max(c, c_rate())
    torch_forward = max(torch_forward, torch_rates(side, batch, args.seconds)[0])
    # The C's largest product: a tile of neighbourhoods (positions x 64*9) times W^T (64*9 x 64), and a square one.
    sgemm_conv = sgemm_rate(side * side, 64 * 9, 64, args.seconds)
    sgemm_square = sgemm_rate(1024, 1024, 1024, args.seconds)
    macs = macs_per_sample(side)
    g = lambda rate: f"{rate * macs / 1e9:6.1f} GMAC/s"
    print(f"Segment (P4M, 8*Regular hidden layers), {side}x{side} images, batch {batch}; {macs / 1e6:.0f} M multiply-adds per image (dense)")
    print(f"  forward, one thread:  C (-O3 -march=native, f32) {c:8.1f} images/s {g(c)}")
    print(f"                        PyTorch conv2d (f32)        {torch_forward:8.1f} images/s {g(torch_forward)}   C / PyTorch = {c / torch_forward:.2f}")
    print(f"                        NumPy sgemm (OpenBLAS, one thread): {sgemm_conv:.1f} GMAC/s on {side * side}x576x64, "
          f"{sgemm_square:.1f} on 1024^3 (the ceiling; C / sgemm = {c * macs / 1e9 / sgemm_conv:.2f})")
    print(f"  training, two threads: interpreter (f64)           {interp_train:8.1f} images/s   interpreter / PyTorch = {interp_train / torch_train:.2f}")
    print(f"                        interpreter (--precision f32) {interp_train32:7.1f} images/s   interpreter / PyTorch = {interp_train32 / torch_train:.2f}")
    print(f"                        PyTorch step (f32, Adam)     {torch_train:8.1f} images/s")
    print(f"  forward, interpreter (f64, two threads): {interp_forward:.1f} images/s {g(interp_forward)}")

    # 512x512: memory proportional to the activations, not to the image size squared.
    import numpy as np
    big = os.path.join(work, "big.npy")
    np.save(big, np.random.default_rng(0).normal(size=(1, 512, 512, 3)))
    weights = os.path.join(work, "w.safetensors")
    data_x, data_y = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    np.save(data_x, np.random.default_rng(1).normal(size=(2, 16, 16, 3)))
    np.save(data_y, np.random.default_rng(2).integers(0, 5, size=(2, 16, 16)))
    subprocess.run([EQNNC, "train", SEGMENT, "--x", data_x, "--y", data_y, "--loss", "cross-entropy", "--epochs", "1",
                    "-o", weights, "--quiet"], check=True, capture_output=True)
    interp_mb = peak_memory([EQNNC, "run", SEGMENT, "--weights", weights, "--input", big, "--output", os.path.join(work, "out.npy")])
    with open(os.path.join(work, "one.c"), "w") as f:
        f.write(TIMER)
    c_mb = peak_memory([binary, "1", "512", "0.01"])
    print(f"  one 512x512 image: interpreter `eqnnc run` peak {interp_mb:.0f} MB (input and output arrays in float64 included); "
          f"C forward peak {c_mb:.0f} MB (workspace {2 * 512 * 512 * 64 * 4 / 2**20:.0f} MB of activations)")


if __name__ == "__main__":
    main()
