#!/usr/bin/env python3
"""Forward throughput of the generated C (cc -O2) at batch 1 and 512, next to the
interpreter (`eqnnc time`) and to the same dense matrix products in NumPy
(OpenBLAS), all measured in this run; for each model the C with structured
kernels and with dense kernels (--kernels dense).

    python3 bench/c_throughput.py [--seconds 1]
"""
import argparse, json, os, subprocess, tempfile, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.path.join(ROOT, ".build", "release", "eqnnc")
MODELS = [os.path.join(ROOT, "bench", "inertia384.eqnn"), os.path.join(ROOT, "bench", "deepsets64.eqnn")]

TIMER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "NAME.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv) {
    size_t batch = (size_t)atol(argv[1]), i;
    double seconds = atof(argv[2]), best = 1e30, deadline;
    NAME_real *x = malloc(batch * NAME_INPUT_DIM * sizeof *x), *y = malloc(batch * NAME_OUTPUT_DIM * sizeof *y);
    int runs = 0;
    for (i = 0; i < batch * NAME_INPUT_DIM; ++i) x[i] = (NAME_real)((double)(i % 97) / 97.0 - 0.5);
    NAME_forward(NAME_baked(), x, y, batch);
    deadline = now() + seconds;
    do {
        double start = now(), elapsed;
        int repeat, reps = batch == 1 ? 100 : 1;
        for (repeat = 0; repeat < reps; ++repeat) NAME_forward(NAME_baked(), x, y, batch);
        elapsed = (now() - start) / reps;
        if (elapsed < best) best = elapsed;
        ++runs;
    } while (now() < deadline || runs < 3);
    printf("%.0f\n", batch / best);
    free(x); free(y);
    return 0;
}
"""


def c_rate(model, kernels, batch, seconds, work):
    out = os.path.join(work, kernels)
    subprocess.run([EQNNC, model, "--emit", "c", "--kernels", kernels, "-o", out], check=True, capture_output=True)
    name = [f for f in os.listdir(out) if f.endswith(".h")][0][:-2]
    with open(os.path.join(out, "timer.c"), "w") as f:
        f.write(TIMER.replace("NAME_INPUT_DIM", name.upper() + "_INPUT_DIM").replace("NAME_OUTPUT_DIM", name.upper() + "_OUTPUT_DIM").replace("NAME", name))
    binary = os.path.join(out, "timer")
    subprocess.run(["cc", "-std=c99", "-O2", "-o", binary, os.path.join(out, name + ".c"), os.path.join(out, "timer.c"), "-lm"], check=True)
    return float(subprocess.run([binary, str(batch), str(seconds)], capture_output=True, text=True, check=True).stdout)


def numpy_rate(shapes, batch, seconds):
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((o, i)).astype(np.float32) for i, o in shapes]
    x0 = rng.standard_normal((batch, shapes[0][0])).astype(np.float32)
    def forward():
        x = x0
        for w in weights:
            x = x[:, :w.shape[1]] @ w.T
    forward()
    best, deadline, runs = float("inf"), time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline or runs < 3:
        reps = 100 if batch == 1 else 1
        t = time.perf_counter()
        for _ in range(reps):
            forward()
        best = min(best, (time.perf_counter() - t) / reps); runs += 1
    return batch / best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1)
    args = ap.parse_args()
    for model in MODELS:
        graph = json.loads(subprocess.run([EQNNC, model, "--emit", "graph"], capture_output=True, text=True, check=True).stdout)
        shapes = [(op["basis"]["columns"], op["basis"]["rows"]) for op in graph["ops"] if op["op"] == "linear"]
        timed = subprocess.run([EQNNC, "time", model, "--batch", "1,512", "--seconds", str(args.seconds)],
                               capture_output=True, text=True, check=True).stdout
        interp = {int(l.split("batch ")[1].split(":")[0]): int(l.split(": ")[1].split(" ")[0])
                  for l in timed.splitlines() if "forward, batch" in l}
        print(f"{graph['network']} ({graph['parameter_count']} parameters; linear shapes {shapes})")
        print(f"  {'batch':>5} {'C structured':>13} {'C dense':>10} {'interpreter':>12} {'NumPy dense':>12}   samples/s, float32 (interpreter float64)")
        with tempfile.TemporaryDirectory() as work:
            for batch in (1, 512):
                s = c_rate(model, "auto", batch, args.seconds, work)
                d = c_rate(model, "dense", batch, args.seconds, work)
                n = numpy_rate(shapes, batch, args.seconds)
                print(f"  {batch:>5} {s:>13.0f} {d:>10.0f} {interp.get(batch, 0):>12} {n:>12.0f}")


if __name__ == "__main__":
    main()
