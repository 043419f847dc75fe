#!/usr/bin/env python3
"""Execution speed, all measured in one run (the machines are shared and noisy):

1. The ceiling: the generated C matrix product (cc -O3 -march=native, one thread)
   against OpenBLAS sgemm through NumPy (one thread) at the dense shapes of
   bench/inertia384.eqnn, batch 512, and at 1024^3.
2. Per model, samples/s and multiply-adds/s: generated C with the structured
   plan and with --kernels dense (one thread, float32, -O3 -march=native),
   the interpreter (`eqnnc time`: float64, both cores, forward and training),
   NumPy running the dense chain of the same linear shapes (no bilinear terms,
   no activations: a lower bound on the work) with 1 and 2 threads, and EMLP
   (Inertia384 = EMLP's own Inertia model) when --emlp VENV is given.

    swift build -c release && python3 bench/execution.py [--seconds 1] [--emlp /tmp/venv-emlp]

MAC/s counts the multiply-adds of the plan that ran (the C header lists them per op).
"""
import argparse, json, os, re, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.path.join(ROOT, ".build", "release", "eqnnc")
MODELS = ["examples/inertia.eqnn", "bench/inertia384.eqnn", "bench/deepsets64.eqnn", "bench/deepsets1000.eqnn",
          "bench/image32.eqnn"]
CFLAGS = ["-std=c99", "-O3", "-march=native"]

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
    NAME_real *x = malloc(batch * UPPER_INPUT_DIM * sizeof *x), *y = malloc(batch * UPPER_OUTPUT_DIM * sizeof *y);
    int runs = 0;
    (void)argc;
    for (i = 0; i < batch * UPPER_INPUT_DIM; ++i) x[i] = (NAME_real)((double)(i % 97) / 97.0 - 0.5);
    NAME_forward(NAME_baked(), x, y, batch);
    deadline = now() + seconds;
    do {
        double start = now(), elapsed;
        int repeat, reps = batch == 1 ? 20 : 1;
        for (repeat = 0; repeat < reps; ++repeat) NAME_forward(NAME_baked(), x, y, batch);
        elapsed = (now() - start) / reps;
        if (elapsed < best) best = elapsed;
        ++runs;
    } while (now() < deadline || runs < 3);
    printf("%.1f\n", batch / best);
    free(x); free(y);
    return 0;
}
"""

GEMM_TIMER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "NAME.c"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv) {
    size_t m = (size_t)atol(argv[1]), n = (size_t)atol(argv[2]), k = (size_t)atol(argv[3]), i;
    double seconds = atof(argv[4]), best = 1e30, deadline;
    NAME_real *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b), *c = malloc(m * n * sizeof *c);
    int runs = 0;
    (void)argc;
    for (i = 0; i < m * k; ++i) a[i] = (NAME_real)((double)(i % 89) / 89.0 - 0.5);
    for (i = 0; i < k * n; ++i) b[i] = (NAME_real)((double)(i % 83) / 83.0 - 0.5);
    deadline = now() + seconds;
    do {
        double start = now();
        for (i = 0; i < m * n; ++i) c[i] = 0;
        NAME_gemm(m, n, k, a, k, 1, b, n, c, n, 1);
        if (now() - start < best) best = now() - start;
        ++runs;
    } while (now() < deadline || runs < 3);
    printf("%.4g\n", (double)m * n * k / best);
    free(a); free(b); free(c);
    return 0;
}
"""

NUMPY_WORKER = r"""
import sys, time, json
import numpy as np
mode, spec, seconds = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(0)
def best(f, reps):
    f(); b, deadline, runs = float("inf"), time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline or runs < 3:
        t = time.perf_counter()
        for _ in range(reps): f()
        b = min(b, (time.perf_counter() - t) / reps); runs += 1
    return b
if mode == "gemm":
    m, n, k = spec
    a = rng.standard_normal((m, k)).astype(np.float32); b = rng.standard_normal((k, n)).astype(np.float32)
    print(m * n * k / best(lambda: a @ b, 1))
else:
    shapes, batch = spec
    ws = [rng.standard_normal((i, o)).astype(np.float32) for i, o in shapes]
    x0 = rng.standard_normal((batch, shapes[0][0])).astype(np.float32)
    def forward():
        x = x0
        for w in ws:
            x = x[:, :w.shape[0]] @ w
    print(batch / best(forward, 20 if batch == 1 else 1))
"""


def numpy(mode, spec, threads, seconds):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", NUMPY_WORKER, mode, json.dumps(spec), str(seconds)], env=env,
                         capture_output=True, text=True, check=True)
    return float(out.stdout)


def emit(model, kernels, out):
    r = subprocess.run([EQNNC, model, "--emit", "c", "--kernels", kernels, "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1]
    name = [f for f in os.listdir(out) if f.endswith(".h")][0][:-2]
    return name, None


def work(header):
    """Multiply-adds per sample from the header's kernel list."""
    total = 0
    for line in header.splitlines():
        m = re.match(r" \*   \S+: (structured, \d+ products, (\d+) instead|dense, (\d+)|\d+ blocks, (\d+))", line)
        if m:
            total += int(next(g for g in m.groups()[1:] if g))
    return total


def c_rates(model, kernels, work_dir, seconds, batches):
    out = os.path.join(work_dir, kernels)
    name, error = emit(model, kernels, out)
    if name is None:
        return None, 0, error
    with open(os.path.join(out, name + ".h")) as f:
        macs = work(f.read())
    with open(os.path.join(out, "timer.c"), "w") as f:
        f.write(TIMER.replace("UPPER", name.upper()).replace("NAME", name))
    binary = os.path.join(out, "timer")
    subprocess.run(["cc"] + CFLAGS + ["-o", binary, os.path.join(out, name + ".c"), os.path.join(out, "timer.c"), "-lm"], check=True)
    rates = {b: float(subprocess.run([binary, str(b), str(seconds)], capture_output=True, text=True, check=True).stdout)
             for b in batches}
    return rates, macs, None


def interpreter(model, seconds, batches):
    text = subprocess.run([EQNNC, "time", model, "--batch", ",".join(map(str, batches)), "--train-batch", str(min(500, batches[-1])),
                           "--seconds", str(seconds)], capture_output=True, text=True, check=True).stdout
    rates = {int(m.group(1)): float(m.group(2)) for m in re.finditer(r"forward, batch (\d+): (\d+)", text)}
    train = re.search(r"training, batch \d+: (\d+)", text)
    return rates, float(train.group(1)) if train else 0.0


def emlp(venv, seconds):
    script = os.path.join(ROOT, "..", "shared", "peers", "emlp", "model.py")
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([os.path.join(venv, "bin", "python"), script, "--one", "Inertia", "EMLP", "--epochs", "2"],
                           capture_output=True, text=True, env=dict(os.environ, EMLP_RESULTS=d), timeout=1800)
    line = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    if not line:
        return None
    info = json.loads(line[-1][7:])
    epoch = info.get("epoch_seconds_after_first") or (info.get("epoch_seconds") or [0])[0]
    return info.get("forward_samples_per_s"), epoch


def fmt(rate, macs=None):
    if rate is None:
        return "-"
    text = f"{rate:,.0f}"
    return text + (f" ({rate * macs / 1e9:.1f})" if macs else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1)
    ap.add_argument("--emlp", help="a venv made by ../shared/peers/emlp/setup.sh")
    ap.add_argument("--models", nargs="*", default=MODELS)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        # 1. The ceiling.
        name, _ = emit(os.path.join(ROOT, "bench/inertia384.eqnn"), "dense", work_dir)
        with open(os.path.join(work_dir, "gemm.c"), "w") as f:
            f.write(GEMM_TIMER.replace("NAME", name))
        binary = os.path.join(work_dir, "gemm")
        subprocess.run(["cc"] + CFLAGS + ["-I", work_dir, "-o", binary, os.path.join(work_dir, "gemm.c"), "-lm"], check=True)
        print("Matrix product, float32, one thread (GMAC/s): eqnnc C kernel vs OpenBLAS sgemm (NumPy)")
        for m, n, k in [(512, 424, 20), (512, 424, 372), (512, 9, 372), (1024, 1024, 1024)]:
            ours = float(subprocess.run([binary, str(m), str(n), str(k), str(args.seconds)], capture_output=True, text=True,
                                        check=True).stdout)
            blas = numpy("gemm", [m, n, k], 1, args.seconds)
            print(f"  {m} x {k} times {k} x {n}: {ours / 1e9:6.1f} vs {blas / 1e9:6.1f}  ({ours / blas:.2f}x)")
        print()
        print("samples/s (GMAC/s); C float32 one thread -O3 -march=native; interpreter float64 two threads;")
        print("NumPy: the dense linear chain only (no bilinear, no activations), float32")
        header = f"  {'model':<14} {'batch':>5} {'C structured':>20} {'C dense':>18} {'interpreter':>18} {'NumPy 1 thread':>18} {'NumPy 2 threads':>18}"
        for model in args.models:
            path = os.path.join(ROOT, model)
            graph = json.loads(subprocess.run([EQNNC, path, "--emit", "graph"], capture_output=True, text=True, check=True).stdout)
            shapes = [(op["in_dim"], op["out_dim"]) for op in graph["ops"] if op["op"] == "linear"]
            dense_linear = sum(i * o for i, o in shapes)
            big = max(o for _, o in shapes) > 10_000
            batches = [1, 16] if big else [1, 512]
            structured, smacs, _ = c_rates(path, "auto", work_dir, args.seconds, batches)
            dense, dmacs, why = c_rates(path, "dense", work_dir, args.seconds, batches)
            interp, train = interpreter(path, args.seconds, batches)
            print(f"{graph['network']}: {graph['parameter_count']:,} parameters; {smacs:,} multiply-adds per sample structured, "
                  f"{dmacs or dense_linear:,} dense" + (f" (C dense: {why})" if why else ""))
            print(header)
            fits = dense_linear <= 1 << 27  # NumPy needs the dense matrices: at most 512 MiB of float32
            for b in batches:
                n1 = numpy("chain", [shapes, b], 1, args.seconds) if fits else None
                n2 = numpy("chain", [shapes, b], 2, args.seconds) if fits else None
                print(f"  {'':<14} {b:>5} {fmt(structured and structured[b], smacs):>20} {fmt(dense and dense[b], dmacs):>18} "
                      f"{fmt(interp.get(b), smacs):>18} {fmt(n1, dense_linear):>18} {fmt(n2, dense_linear):>18}")
            if not fits:
                print(f"  (NumPy: the dense matrices would take {dense_linear * 4 / 2**30:.1f} GiB)")
            print(f"  interpreter training (batch {min(500, batches[-1])}, forward + backward + Adam): {train:,.0f} samples/s")
            if args.emlp and graph["network"] == "Inertia384":
                result = emlp(args.emlp, args.seconds)
                if result:
                    print(f"  EMLP (Inertia, 384 channels, its own benchmark): forward {result[0]:,.0f} samples/s at batch 500, "
                          f"{result[1]:.1f} s per training epoch")
            print()


if __name__ == "__main__":
    main()
