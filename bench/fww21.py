#!/usr/bin/env python3
"""The three synthetic tasks of Finzi, Welling and Wilson (2021) with the
paper's protocol: N training samples, 1000 validation samples (early stopping),
5000 test samples, Adam lr 3e-3 (eqnnc's cosine schedule), batch 500, and the
epochs of the paper's data-efficiency runs, min(900,000 / N, 1000) (900 at
N = 1000; emlp's experiments/data_efficiency.py), or with `--budget short`
300,000 / N (300 at N = 1000). Each equivariant model is trained next
to the unconstrained MLP of the same widths (examples/fww21/*_mlp.eqnn), and,
where the target is a polynomial of the inputs (inertia, scattering), next to
the same network with polynomial layers (examples/fww21/*_polynomial.eqnn).

    python3 bench/fww21.py table [--seeds 3]          test MSE at N = 1000, mean of seeds
    python3 bench/fww21.py curve [--seeds 1]          test MSE at N = 30 .. 3000, and a PNG
                         [--models M,M]               only these models (others kept from curve.csv)
    python3 bench/fww21.py ablations                  what each default does (seed 0, N = 1000)
    python3 bench/fww21.py time                       seconds to reach EMLP's test MSE
    python3 bench/fww21.py spread                     the seed-0 models of `table` on 8 more test sets

Results go to .build/fww21/ (CSV; curve.png when matplotlib is installed).
Nothing here is needed by `swift build` or `swift test`.
"""
import argparse
import csv
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# $EQNNC: an eqnnc binary to use instead of building .build/release/eqnnc.
EQNNC = os.environ.get("EQNNC") or os.path.join(ROOT, ".build", "release", "eqnnc")
OUT = os.path.join(ROOT, ".build", "fww21")
TASKS = ["o5", "inertia", "lorentz"]
# The models of each task: EMLP's architecture (gated + bilinear), the same with
# polynomial layers (identity + bilinear) where the target is a polynomial, the MLP.
MODELS = {"o5": ["o5", "o5_mlp"],
          "inertia": ["inertia", "inertia_polynomial", "inertia_mlp"],
          "lorentz": ["lorentz", "lorentz_polynomial", "lorentz_mlp"]}
# Test MSE of EMLP and of the MLP at N = 1000 as the paper reports them.
PAPER_EMLP = {"o5": 0.017, "inertia": 0.136, "lorentz": 3.3e-4}
PAPER_MLP = {"o5": 0.089, "inertia": 3.24, "lorentz": 0.36}
SIZES = [30, 100, 300, 1000, 3000]
# Epochs for N training samples: the paper's budget, or a third of it at N >= 1000.
BUDGETS = {"paper": lambda n: min(900000 // n, 1000), "short": lambda n: 300000 // n}
budget = "paper"


def sh(args, env=None):
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(args)}\n{result.stderr[-2000:]}")
    return result


def data(task, split, samples, seed=None):
    """Nested data sets: one generator seed per split, so N = 30 is a prefix of N = 3000."""
    seed = seed if seed is not None else {"train": 1, "test": 2, "val": 3}[split]
    # A split's own seed keeps the plain name; other draws (`spread`) name their seed.
    name = f"{task}.{split}{samples}" + (f".seed{seed}" if seed > 3 else "")
    x = os.path.join(OUT, f"{name}.x.npy")
    y = os.path.join(OUT, f"{name}.y.npy")
    if not os.path.exists(y):
        sh([EQNNC, "data", task, "--samples", str(samples), "--seed", str(seed), "--x", x, "--y", y])
    return x, y


def paper(model):
    """The paper's test MSE at N = 1000 for the kind of model this is."""
    task = model.split("_")[0]
    return PAPER_MLP[task] if model.endswith("_mlp") else PAPER_EMLP[task]


def train(task, model, n, seed, extra=(), env_overrides=None, separate_validation=True, tag="", source=None):
    """Trains one model (examples/fww21/MODEL.eqnn unless `source` is given);
    returns (test MSE, seconds, per-epoch log lines)."""
    source = source or os.path.join("examples", "fww21", f"{model}.eqnn")
    x, y = data(task, "train", n)
    weights = os.path.join(OUT, f"{model}.n{n}.s{seed}{tag}.safetensors")
    epochs = BUDGETS[budget](n)
    args = [EQNNC, "train", source, "--x", x, "--y", y, "--epochs", str(epochs), "--batch", "500",
            "--lr", "3e-3", "--seed", str(seed), "-o", weights, *extra]
    if separate_validation:
        vx, vy = data(task, "val", 1000)
        args += ["--val-x", vx, "--val-y", vy]
    env = dict(os.environ, **(env_overrides or {}))
    start = time.time()
    log = sh(args, env=env).stderr
    seconds = time.time() - start
    tx, ty = data(task, "test", 5000)
    mse = float(sh([EQNNC, "evaluate", source, "--weights", weights, "--x", tx, "--y", ty]).stdout.split()[1])
    return mse, seconds, log


def write_csv(name, header, rows):
    path = os.path.join(OUT, name)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {path}")


def mean(values):
    return sum(values) / len(values)


def table(seeds):
    rows = []
    print(f"{'task':8} {'model':18} {'test MSE (mean)':>16} {'per seed':>34} {'seconds':>8} {'EMLP (paper)':>13}")
    for task in TASKS:
        for model in MODELS[task]:
            runs = [train(task, model, 1000, s) for s in range(seeds)]
            mses = [r[0] for r in runs]
            print(f"{task:8} {model:18} {mean(mses):16.3e} {' '.join(f'{m:.2e}' for m in mses):>34} "
                  f"{mean([r[1] for r in runs]):8.1f} {paper(model):13.3g}", flush=True)
            rows.append([task, model, mean(mses), *mses, mean([r[1] for r in runs]), paper(model)])
    write_csv("table.csv", ["task", "model", "mean_test_mse", *[f"seed{s}" for s in range(seeds)], "seconds",
                            "paper"], rows)


def curve(seeds, only=None):
    """Trains every model (or those in `only`, keeping the other rows of curve.csv) at every N."""
    path = os.path.join(OUT, "curve.csv")
    kept = []
    if only and os.path.exists(path):
        with open(path) as f:
            kept = [[r["task"], r["model"], int(r["n"]), float(r["test_mse"]), float(r["seconds"])]
                    for r in csv.DictReader(f) if r["model"] not in only]
    rows = []
    for task in TASKS:
        for model in MODELS[task]:
            if only and model not in only:
                rows += [r for r in kept if r[1] == model]
                continue
            for n in SIZES:
                runs = [train(task, model, n, s) for s in range(seeds)]
                m = mean([r[0] for r in runs])
                print(f"{task:8} {model:18} N={n:5d} test MSE {m:.3e}  {mean([r[1] for r in runs]):6.1f} s", flush=True)
                rows.append([task, model, n, m, mean([r[1] for r in runs])])
    write_csv("curve.csv", ["task", "model", "n", "test_mse", "seconds"], rows)
    plot(rows)


def plot(rows):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return
    emlp = {}
    emlp_path = os.path.join(OUT, "curve_emlp.csv")
    if os.path.exists(emlp_path):
        with open(emlp_path) as f:
            for r in csv.DictReader(f):
                emlp.setdefault(r["task"], []).append((int(r["n"]), float(r["test_mse"])))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, task in zip(axes, TASKS):
        for model, label, style, color in ((task, "eqnnc, gated + bilinear (EMLP's layers)", "o-", "C0"),
                                           (f"{task}_polynomial", "eqnnc, identity + bilinear (polynomial)", "D-", "C1"),
                                           (f"{task}_mlp", "MLP (eqnnc, same widths)", "s--", "C2")):
            points = [(r[2], r[3]) for r in rows if r[0] == task and r[1] == model]
            if not points:
                continue
            ax.plot([p[0] for p in points], [p[1] for p in points], style, color=color, label=label)
        if task in emlp:
            points = sorted(emlp[task])
            ax.plot([p[0] for p in points], [p[1] for p in points], "^:", color="C3", label="EMLP (measured here)")
        ax.plot([1000], [PAPER_EMLP[task]], "k*", markersize=10, label="EMLP, paper (N = 1000)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(task)
        ax.set_xlabel("training samples N")
        ax.set_ylabel("test MSE")
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(OUT, "curve.png")
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


# Each ablation: a label, the train flags, environment overrides, whether
# validation uses the separate 1000 samples (else 10% of the training set), and
# whether the layers are made polynomial (identity + bilinear).
F64 = ["--precision", "f64"]
ABLATIONS = [
    ("before (full-scale first layer, 10% of N validates)", F64, {"EQNNC_INPUT_LAYER_GAIN": "1"}, False, False),
    ("+ separate validation set (all N train)", F64, {"EQNNC_INPUT_LAYER_GAIN": "1"}, True, False),
    ("+ first layer at 0.3 of the scale (the default)", F64, {}, True, False),
    ("  + weight decay 0.1", F64 + ["--weight-decay", "0.1"], {}, True, False),
    ("  with --precision f32 (the default)", ["--precision", "f32"], {}, True, False),
    ("  first layer at 0.1 of the scale", F64, {"EQNNC_INPUT_LAYER_GAIN": "0.01"}, True, False),
    ("  identity + bilinear instead of gated + bilinear", F64, {}, True, True),
]


def polynomial_variant(task):
    """examples/fww21/TASK.eqnn with every `gated + bilinear` layer made `identity + bilinear`."""
    with open(os.path.join(ROOT, "examples", "fww21", f"{task}.eqnn")) as f:
        text = f.read().replace("gated + bilinear", "identity + bilinear")
    path = os.path.join(OUT, f"{task}.polynomial-variant.eqnn")
    with open(path, "w") as f:
        f.write(text)
    return path


def ablations():
    rows = []
    print(f"{'ablation':52} " + " ".join(f"{t:>10}" for t in TASKS))
    for label, flags, env, separate, polynomial in ABLATIONS:
        results = [train(task, task, 1000, 0, flags, env, separate, tag=".ablation",
                         source=polynomial_variant(task) if polynomial else None)
                   for task in TASKS]
        print(f"{label:52} " + " ".join(f"{r[0]:10.3e}" for r in results), flush=True)
        rows.append([label, *[r[0] for r in results], *[round(r[1], 1) for r in results]])
    write_csv("ablations.csv", ["ablation", *[f"{t}_mse" for t in TASKS], *[f"{t}_seconds" for t in TASKS]], rows)


def time_to_target():
    """Seconds of training until the validation MSE first reaches EMLP's test MSE
    (the log's per-epoch seconds, summed; validation is measured every epoch)."""
    print(f"{'model':18} {'EMLP MSE':>9} {'eqnnc: seconds':>15} {'epoch':>6} {'total seconds':>14}")
    rows = []
    for task, model in [(t, m) for t in TASKS for m in MODELS[t] if not m.endswith("_mlp")]:
        target = PAPER_EMLP[task]
        mse, seconds, log = train(task, model, 1000, 0, tag=".time")
        elapsed, reached = 0.0, None
        for line in log.splitlines():
            m = re.match(r"epoch\s+(\d+)/\d+\s+train \S+\s+val (\S+)\s+lr \S+\s+(\S+) s", line)
            if not m:
                continue
            elapsed += float(m.group(3))
            if reached is None and float(m.group(2)) <= target:
                reached = (int(m.group(1)), elapsed)
        text = f"{reached[1]:15.1f} {reached[0]:6d}" if reached else f"{'not reached':>15} {'-':>6}"
        print(f"{model:18} {target:9.3g} {text} {seconds:14.1f}  (test MSE {mse:.3e})", flush=True)
        rows.append([task, model, target, reached[1] if reached else "", reached[0] if reached else "", seconds, mse])
    write_csv("time_to_target.csv", ["task", "model", "emlp_mse", "seconds_to_reach", "epoch", "total_seconds", "test_mse"],
              rows)


def spread():
    """How much the test MSE of one trained model depends on the draw of the 5000
    test samples: the seed-0 weights of `table` on test sets of generator seeds 10..17."""
    rows = []
    print(f"{'model':18} {'test (seed 2)':>13} {'min':>10} {'median':>10} {'max':>10}  over 8 more test sets")
    for task in TASKS:
        for model in MODELS[task]:
            weights = os.path.join(OUT, f"{model}.n1000.s0.safetensors")
            if model.endswith("_mlp") or not os.path.exists(weights):
                continue
            source = os.path.join("examples", "fww21", f"{model}.eqnn")
            mses = []
            for seed in [2] + list(range(10, 18)):
                tx, ty = data(task, "test", 5000, seed)
                mses.append(float(sh([EQNNC, "evaluate", source, "--weights", weights, "--x", tx, "--y", ty]).stdout.split()[1]))
            more = sorted(mses[1:])
            print(f"{model:18} {mses[0]:13.3e} {more[0]:10.3e} {(more[3] + more[4]) / 2:10.3e} {more[-1]:10.3e}", flush=True)
            rows.append([task, model, *mses])
    write_csv("spread.csv", ["task", "model", "test_seed2", *[f"test_seed{s}" for s in range(10, 18)]], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["table", "curve", "ablations", "time", "spread", "plot"])
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--models", default=None, help="curve: a comma-separated list of models to (re)train")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="paper",
                        help="epochs: the paper's min(900,000 / N, 1000), or 300,000 / N")
    args = parser.parse_args()
    global budget
    budget = args.budget
    os.makedirs(OUT, exist_ok=True)
    if "EQNNC" not in os.environ:
        sh(["swift", "build", "-c", "release", "--product", "eqnnc"])
    if args.what == "table":
        table(args.seeds or 3)
    elif args.what == "curve":
        curve(args.seeds or 1, set(args.models.split(",")) if args.models else None)
    elif args.what == "ablations":
        ablations()
    elif args.what == "time":
        time_to_target()
    elif args.what == "spread":
        spread()
    else:
        with open(os.path.join(OUT, "curve.csv")) as f:
            plot([[r["task"], r["model"], int(r["n"]), float(r["test_mse"])] for r in csv.DictReader(f)])


if __name__ == "__main__":
    main()
