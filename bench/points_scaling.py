#!/usr/bin/env python3
"""Networks on point clouds at scale: time and memory of one forward pass against the
number of points n at a fixed density, for examples/points/energy.eqnn (radius 2.5):
a random cloud of the Lennard-Jones liquid's density (1.2 points per unit volume, about
80 neighbours within the radius), n = 100 to 100,000.

- eqnnc's C (`--emit c --precision f32`, -O3 -march=native, one thread): seconds per
  forward and the workspace it asks for;
- eqnnc's interpreter (`eqnnc run`, both cores): wall seconds of the whole command and its
  peak resident memory (GNU time), against the same command on 10 points (start-up).

Linear means the columns per point stay flat as n grows.

    swift build -c release
    python3 bench/points_scaling.py [--sizes 100,1000,10000,100000]
"""
import argparse, os, re, subprocess, sys, tempfile, time

import one_openblas_thread  # noqa: F401
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.environ.get("EQNNC", os.path.join(ROOT, ".build", "release", "eqnnc"))
NETWORK = os.path.join(ROOT, "examples", "points", "energy.eqnn")

MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "energy.h"
int main(int argc, char **argv) {
    size_t n = (size_t)atol(argv[3]), runs = 0, bytes = energy_workspace_bytes(n);
    float *positions = malloc(n * 3 * sizeof(float)), *x = malloc(n * ENERGY_INPUT_DIM * sizeof(float)), y[ENERGY_OUTPUT_DIM];
    void *workspace = malloc(bytes);
    FILE *f = fopen(argv[1], "rb");
    struct timespec start, now;
    double seconds = 0;
    (void)argc;
    if (fread(positions, sizeof(float), n * 3, f) != n * 3) return 2;
    fclose(f);
    f = fopen(argv[2], "rb");
    if (fread(x, sizeof(float), n * ENERGY_INPUT_DIM, f) != n * ENERGY_INPUT_DIM) return 2;
    fclose(f);
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (seconds < 1 || runs < 2) {
        energy_forward(energy_baked(), positions, x, &n, 1, y, workspace);
        ++runs;
        clock_gettime(CLOCK_MONOTONIC, &now);
        seconds = (double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec);
    }
    printf("%.9f %zu %g\n", seconds / (double)runs, bytes, (double)y[0]);
    return 0;
}
"""


def cloud(n, seed):
    rng = np.random.default_rng(seed)
    side = (n / 1.2) ** (1 / 3)
    positions = rng.uniform(0, side, size=(n, 3))
    species = rng.random(n) < 0.8
    x = np.stack([species, ~species], axis=1).astype(np.float64)
    return positions, x


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([EQNNC, NETWORK, "--emit", "c", "--precision", "f32", "-o", work], check=True, capture_output=True)
        with open(os.path.join(work, "main.c"), "w") as f:
            f.write(MAIN)
        timer = os.path.join(work, "timer")
        subprocess.run(["cc", "-O3", "-march=native", "-o", timer, os.path.join(work, "energy.c"), os.path.join(work, "main.c"), "-lm"], check=True)
        print("| points | C forward (one thread) | C per point | C workspace | `eqnnc run` wall | run per point | run peak memory |")
        print("|---|---|---|---|---|---|---|")
        base = None
        for n in [10] + sizes:
            positions, x = cloud(n, n)
            positions.astype(np.float32).tofile(os.path.join(work, "p.bin"))
            x.astype(np.float32).tofile(os.path.join(work, "x.bin"))
            seconds, workspace, _ = subprocess.run([timer, os.path.join(work, "p.bin"), os.path.join(work, "x.bin"), str(n)],
                                                   capture_output=True, text=True, check=True).stdout.split()
            seconds, workspace = float(seconds), int(workspace)
            for name, value in (("p", positions), ("x", x), ("n", np.array([[n]], dtype=np.float64))):
                np.save(os.path.join(work, f"{name}.npy"), value)
            start = time.time()
            result = subprocess.run(["/usr/bin/time", "-v", EQNNC, "run", NETWORK, "--input", os.path.join(work, "x.npy"),
                                     "--positions", os.path.join(work, "p.npy"), "--counts", os.path.join(work, "n.npy"),
                                     "--weights", os.path.join(work, "none.safetensors"), "--output", os.path.join(work, "y.npy")],
                                    capture_output=True, text=True)
            if result.returncode != 0 and "none.safetensors" in result.stderr:
                # `run` needs weights: make untrained ones once.
                subprocess.run([EQNNC, "train", NETWORK, "--x", os.path.join(work, "x.npy"), "--y", os.path.join(work, "n.npy"),
                                "--positions", os.path.join(work, "p.npy"), "--counts", os.path.join(work, "n.npy"), "--epochs", "0",
                                "--val-fraction", "0", "-o", os.path.join(work, "none.safetensors")], check=True, capture_output=True)
                start = time.time()
                result = subprocess.run(["/usr/bin/time", "-v", EQNNC, "run", NETWORK, "--input", os.path.join(work, "x.npy"),
                                         "--positions", os.path.join(work, "p.npy"), "--counts", os.path.join(work, "n.npy"),
                                         "--weights", os.path.join(work, "none.safetensors"), "--output", os.path.join(work, "y.npy")],
                                        capture_output=True, text=True)
            wall = time.time() - start
            if result.returncode != 0:
                sys.exit(result.stderr)
            memory = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024
            if base is None:
                base = (wall, memory)
                continue
            print(f"| {n:,} | {seconds * 1e3:.3f} ms | {seconds / n * 1e6:.2f} us | {workspace / 1e6:.2f} MB | {wall:.2f} s | "
                  f"{(wall - base[0]) / n * 1e6:.1f} us | {memory:.0f} MB ({(memory - base[1]) / n * 1e3:.2f} kB a point above start-up) |", flush=True)


if __name__ == "__main__":
    main()
