#!/usr/bin/env python3
"""Networks on point clouds: eqnnc's message layers beside e3nn's with the same irreps,
layers and radial network, on `eqnnc data clusters` (energies of Lennard-Jones clusters
of 5 to 30 atoms; test MSE) and `eqnnc data tetris` (e3nn's eight shapes at any
orientation; test accuracy), one run each, both cores.

The e3nn network mirrors eqnnc's layer for layer. A message layer of eqnnc is
    h'_i = act(W [h_i ; m_i] + b),  m_i = sum_j TP_uvu(h_j, Y(r_ij / |r_ij|); w(|r_ij|)),
with w an MLP (8 Bessel functions with NequIP's polynomial cut-off, one hidden layer of
silu units) giving one weight per (path, input copy): e3nn's TensorProduct with "uvu"
instructions and shared_weights=False, an o3.Linear on the concatenation, e3nn's Gate.
eqnnc's paths are the exact equivariant maps of h_j (x) u^(x)l for l <= degree, which for
O(3) and these irreps are e3nn's paths through the spherical harmonics up to the same
degree (V -> V: through Y0 and Y2; Scalar -> V: through Y1; V -> Scalar: through Y1).
Both standardize the inputs and fit an energy per atom (shift) and a scale on the
training set; Adam 3e-3 with 5% warmup then cosine decay, the same batches and epochs,
the best validation epoch (10% held out) kept.

    swift build -c release
    ../shared/peers/torch-peers/setup.sh          # e3nn for /usr/bin/python3
    /usr/bin/python3 bench/points.py [--tasks clusters,tetris] [--train 1000] [--test 500] [--epochs 30]
"""
import argparse, json, math, os, re, subprocess, sys, tempfile, time

import one_openblas_thread  # noqa: F401  (before NumPy and torch load OpenBLAS)
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.environ.get("EQNNC", os.path.join(ROOT, ".build", "release", "eqnnc"))

# Each task: eqnnc's group, the layers (scalars, vectors, activation), the radius, degree, pooling, output.
TASKS = {
    "clusters": dict(group="O(3)", inputs=2, layers=[(16, 8, "gated"), (16, 0, "silu")], radius=2.5, degree=2,
                     pool="sum", outputs=1, loss="mse", batch=20),
    "tetris": dict(group="O(3)", inputs=1, layers=[(16, 8, "gated"), (16, 8, "gated"), (16, 0, "silu")], radius=1.1, degree=3,
                   pool="mean", outputs=8, loss="cross-entropy", batch=8),
}


def eqnnc(*args):
    result = subprocess.run([EQNNC, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"eqnnc {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout + result.stderr


def network_text(task, spec):
    rep = lambda s, v: " + ".join(([f"{s}*Scalar"] if s else []) + ([f"{v}*V"] if v else []))
    lines = [f"# bench/points.py: the {task} network", f"network Bench over {spec['group']} on points(3) {{",
             f"  input  {spec['inputs']}*Scalar" if spec["inputs"] > 1 else "  input  Scalar"]
    for s, v, act in spec["layers"]:
        lines.append(f"  layer  {rep(s, v)} : {act}  message {spec['radius']} degree {spec['degree']} radial 32")
    lines.append(f"  output {spec['outputs']}*Scalar  pool {spec['pool']}" if spec["outputs"] > 1 else f"  output Scalar  pool {spec['pool']}")
    return "\n".join(lines + ["}", ""])


def data(task, samples, seed, work, name):
    paths = {k: os.path.join(work, f"{name}_{k}.npy") for k in ("p", "n", "x", "y")}
    args = ["data", task, "--samples", str(samples), "--seed", str(seed), "--positions", paths["p"], "--counts", paths["n"],
            "--x", paths["x"], "--y", paths["y"]]
    eqnnc(*args)
    return paths, {k: np.load(v) for k, v in paths.items()}


# ---------------------------------------------------------------- e3nn

def e3nn_network(spec):
    import torch
    from e3nn import o3
    from e3nn.nn import FullyConnectedNet, Gate

    radius, degree = spec["radius"], spec["degree"]
    sh = o3.Irreps.spherical_harmonics(degree)

    def bessel(r):  # NequIP's basis and cut-off, as eqnnc's (EqnnIR Message.radialBasis)
        x = (r / radius).clamp(max=1.0)
        cutoff = torch.where(r < radius, 1 - 28 * x ** 6 + 48 * x ** 7 - 21 * x ** 8, torch.zeros_like(r))
        k = torch.arange(1, 9, dtype=r.dtype)
        return math.sqrt(2 / radius) * torch.sin(k * math.pi * r[:, None] / radius) / r[:, None] * cutoff[:, None]

    class Layer(torch.nn.Module):
        def __init__(self, irreps_in, scalars, vectors, activation):
            super().__init__()
            gates = vectors if activation == "gated" else 0
            out_types = {o3.Irrep("0e")} | ({o3.Irrep("1o")} if vectors else set())
            mid, instructions = [], []
            for i, (mul, ir_in) in enumerate(irreps_in):
                for j, (_, ir_edge) in enumerate(sh):
                    for ir_out in ir_in * ir_edge:
                        if ir_out in out_types:
                            instructions.append((i, j, len(mid), "uvu", True))
                            mid.append((mul, ir_out))
            self.irreps_mid = o3.Irreps(mid)
            self.tp = o3.TensorProduct(irreps_in, sh, self.irreps_mid, instructions, shared_weights=False, internal_weights=False)
            self.fc = FullyConnectedNet([8, 32, self.tp.weight_numel], torch.nn.functional.silu)
            out = o3.Irreps(f"{scalars}x0e" + (f"+{gates}x0e" if gates else "") + (f"+{vectors}x1o" if vectors else ""))
            self.linear = o3.Linear(irreps_in + self.irreps_mid, out, biases=True)  # eqnnc's layers have biases too
            if activation == "gated":
                self.act = Gate(f"{scalars}x0e", [torch.nn.functional.silu], f"{gates}x0e", [torch.sigmoid], f"{vectors}x1o")
            else:
                self.act = lambda h: torch.nn.functional.silu(h)
            self.irreps_out = o3.Irreps(f"{scalars}x0e" + (f"+{vectors}x1o" if vectors else ""))

        def forward(self, h, src, dst, edge_sh, edge_basis):
            m = self.tp(h[src], edge_sh, self.fc(edge_basis))
            mid = torch.zeros(h.shape[0], m.shape[1], dtype=h.dtype).index_add_(0, dst, m)
            return self.act(self.linear(torch.cat([h, mid], dim=1)))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            irreps = o3.Irreps(f"{spec['inputs']}x0e")
            self.layers = torch.nn.ModuleList()
            for s, v, act in spec["layers"]:
                self.layers.append(Layer(irreps, s, v, act))
                irreps = self.layers[-1].irreps_out
            self.output = o3.Linear(irreps, o3.Irreps(f"{spec['outputs']}x0e"), biases=True)

        def forward(self, x, pos, batch, samples):
            same = batch[:, None] == batch[None, :]
            d = torch.cdist(pos, pos)
            src, dst = torch.nonzero(same & (d < radius) & ~torch.eye(len(pos), dtype=torch.bool), as_tuple=True)
            # r_ij from the receiving point dst to the sender src, as eqnnc's.
            vec = pos[src] - pos[dst]
            r = vec.norm(dim=1)
            edge_sh = o3.spherical_harmonics(sh, vec, normalize=True, normalization="component")
            edge_basis = bessel(r)
            h = x
            for layer in self.layers:
                h = layer(h, src, dst, edge_sh, edge_basis)
            out = self.output(h)
            pooled = torch.zeros(samples, out.shape[1], dtype=out.dtype).index_add_(0, batch, out)
            if spec["pool"] == "mean":
                pooled = pooled / torch.bincount(batch, minlength=samples).clamp(min=1)[:, None].to(out.dtype)
            return pooled

    return Net()


def e3nn_run(spec, train, test, epochs, batch, lr, seed):
    import torch
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    net = e3nn_network(spec)
    parameters = sum(p.numel() for p in net.parameters())
    counts = train["n"].ravel().astype(int)
    starts = np.concatenate([[0], np.cumsum(counts)])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(counts))
    held = int(round(0.1 * len(counts)))
    val, fit = order[:held], order[held:]
    x_mean, x_std = train["x"].mean(0), train["x"].std(0)
    # A constant feature (tetris's 1 per point) stays as it is: shifted to 0 it would leave e3nn's
    # layers nothing to start from (eqnnc's start from their biases).
    x_mean[x_std == 0] = 0
    x_std[x_std == 0] = 1
    mse = spec["loss"] == "mse"
    if mse:  # an energy per atom and a scale of what remains (eqnnc's normalizer)
        shift = train["y"][fit].sum() / counts[fit].sum()
        scale = (train["y"][fit].ravel() - counts[fit] * shift).std()
    def batch_of(data, indices):
        n = data["n"].ravel().astype(int)
        s = np.concatenate([[0], np.cumsum(n)])
        rows = np.concatenate([np.arange(s[i], s[i + 1]) for i in indices])
        tag = np.concatenate([np.full(n[i], k) for k, i in enumerate(indices)])
        x = torch.tensor((data["x"][rows] - x_mean) / x_std)
        return x, torch.tensor(data["p"][rows]), torch.tensor(tag), torch.tensor(data["y"][indices]), torch.tensor(n[indices])
    def predict(x, pos, tag, n, samples):
        out = net(x, pos, tag, samples)
        return scale * out + shift * n[:, None].to(out.dtype) if mse else out
    def loss_of(out, y):
        return torch.nn.functional.mse_loss(out, y) if mse else torch.nn.functional.cross_entropy(out, y.ravel().long())
    net = net.double()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    steps = epochs * math.ceil(len(fit) / batch)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: (s + 1) / warmup if s + 1 <= warmup
                                                 else 0.5 * (1 + math.cos(math.pi * (s + 1 - warmup) / max(1, steps - warmup))))
    best, best_state = math.inf, None
    start = time.time()
    for epoch in range(epochs):
        rng.shuffle(fit)
        net.train()
        for first in range(0, len(fit), batch):
            idx = fit[first:first + batch]
            x, pos, tag, y, n = batch_of(train, idx)
            optimizer.zero_grad()
            loss = loss_of(predict(x, pos, tag, n, len(idx)), y)
            loss.backward()
            optimizer.step()
            schedule.step()
        with torch.no_grad():
            x, pos, tag, y, n = batch_of(train, val)
            v = loss_of(predict(x, pos, tag, n, len(val)), y).item()
        if v < best:
            best, best_state = v, {k: t.clone() for k, t in net.state_dict().items()}
    seconds = time.time() - start
    net.load_state_dict(best_state)
    with torch.no_grad():
        x, pos, tag, y, n = batch_of(test, np.arange(len(test["n"])))
        out = predict(x, pos, tag, n, len(test["n"]))
        score = loss_of(out, y).item() if mse else (out.argmax(1) == y.ravel().long()).double().mean().item()
        # The forward of one structure on one thread in float32 (the C's reference).
        torch.set_num_threads(1)
        net = net.float()
        x1, pos1, tag1, _, n1 = batch_of(test, [0])
        x1, pos1 = x1.float(), pos1.float()
        runs, t0 = 0, time.time()
        while time.time() - t0 < 2:
            net(x1, pos1, tag1, 1)
            runs += 1
        per_structure = (time.time() - t0) / runs
    return parameters, seconds, score, per_structure


# ---------------------------------------------------------------- eqnnc

def eqnnc_run(task, spec, train_paths, test_paths, epochs, batch, lr, seed, work):
    net = os.path.join(work, f"{task}.eqnn")
    with open(net, "w") as f:
        f.write(network_text(task, spec))
    parameters = json.loads(subprocess.run([EQNNC, "check", net, "--format", "json"], capture_output=True, text=True).stdout)["networks"][0]["parameters"]
    weights = os.path.join(work, f"{task}.safetensors")
    start = time.time()
    eqnnc("train", net, "--x", train_paths["x"], "--y", train_paths["y"], "--positions", train_paths["p"], "--counts", train_paths["n"],
          "--loss", spec["loss"], "--epochs", str(epochs), "--batch", str(batch), "--lr", str(lr), "--seed", str(seed), "--quiet",
          "-o", weights)
    seconds = time.time() - start
    out = eqnnc("evaluate", net, "--weights", weights, "--x", test_paths["x"], "--y", test_paths["y"], "--positions", test_paths["p"],
                "--counts", test_paths["n"], "--loss", spec["loss"])
    score = float(re.search(r"mse (\S+)", out).group(1)) if spec["loss"] == "mse" else float(re.search(r"accuracy (\S+)%", out).group(1)) / 100
    return parameters, seconds, score, net, weights


C_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "%(p)s.h"
/* Times forward on one structure: positions and features as raw float32, its point count. */
int main(int argc, char **argv) {
    size_t n = (size_t)atol(argv[3]), runs = 0;
    float *positions = malloc(n * 3 * sizeof(float) + 1), *x = malloc(n * %(P)s_INPUT_DIM * sizeof(float) + 1), y[64 * %(P)s_OUTPUT_DIM];
    void *workspace = malloc(%(p)s_workspace_bytes(n));
    FILE *f = fopen(argv[1], "rb");
    struct timespec start, now;
    double seconds = 0;
    if (fread(positions, sizeof(float), n * 3, f) != n * 3) return 2;
    fclose(f);
    f = fopen(argv[2], "rb");
    if (fread(x, sizeof(float), n * %(P)s_INPUT_DIM, f) != n * %(P)s_INPUT_DIM) return 2;
    fclose(f);
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (seconds < 2) {
        %(p)s_forward(%(p)s_baked(), positions, x, &n, 1, y, workspace);
        ++runs;
        clock_gettime(CLOCK_MONOTONIC, &now);
        seconds = (double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec);
    }
    printf("%%.9f %%g\n", seconds / (double)runs, (double)y[0]);
    return 0;
}
"""


def c_forward(net, weights, test, work):
    """Seconds per forward of the first test structure by `--emit c` (float32, -O3 -march=native, one thread)."""
    out = os.path.join(work, "c_" + os.path.splitext(os.path.basename(net))[0])
    eqnnc(net, "--emit", "c", "--weights", weights, "--precision", "f32", "-o", out)
    p = "bench"  # network Bench
    with open(os.path.join(out, "main.c"), "w") as f:
        f.write(C_MAIN % {"p": p, "P": p.upper()})
    binary = os.path.join(out, "timer")
    subprocess.run(["cc", "-O3", "-march=native", "-o", binary, os.path.join(out, p + ".c"), os.path.join(out, "main.c"), "-lm"], check=True)
    n = int(test["n"].ravel()[0])
    test["p"][:n].astype(np.float32).tofile(os.path.join(out, "p.bin"))
    test["x"][:n].astype(np.float32).tofile(os.path.join(out, "x.bin"))
    result = subprocess.run([binary, os.path.join(out, "p.bin"), os.path.join(out, "x.bin"), str(n)], capture_output=True, text=True, check=True)
    return float(result.stdout.split()[0]), n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default="clusters,tetris")
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"bench/points.py: train {args.train}, test {args.test}, {args.epochs} epochs, Adam {args.lr}, one run each")
    print("| task | library | parameters | train s | test | forward of the first test structure, one thread, float32 (eqnnc: --emit c -O3 -march=native) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for task in args.tasks.split(","):
            spec = TASKS[task]
            train_paths, train = data(task, args.train, 1, work, "train")
            test_paths, test = data(task, args.test, 2, work, "test")
            metric = "MSE" if spec["loss"] == "mse" else "accuracy"
            p, s, score, net, weights = eqnnc_run(task, spec, train_paths, test_paths, args.epochs, spec["batch"], args.lr, args.seed, work)
            forward, points = c_forward(net, weights, test, work)
            print(f"| {task} | eqnnc | {p} | {s:.0f} | {metric} {score:.4g} | {1e6 * forward:.1f} us |", flush=True)
            p, s, score, forward = e3nn_run(spec, train, test, args.epochs, spec["batch"], args.lr, args.seed)
            print(f"| {task} | e3nn | {p} | {s:.0f} | {metric} {score:.4g} | {1e6 * forward:.1f} us |", flush=True)
            if task == "tetris":
                # Under O(3) the two mirror-image shapes are one class to an invariant network (87.5% at most);
                # SO(3)'s cross products tell them apart (e3nn would need parity-odd irreps for that).
                chiral = dict(spec, group="SO(3)")
                p, s, score, _, _ = eqnnc_run("tetris_so3", chiral, train_paths, test_paths, args.epochs, spec["batch"], args.lr, args.seed, work)
                print(f"| {task} | eqnnc, SO(3) | {p} | {s:.0f} | {metric} {score:.4g} | |", flush=True)


if __name__ == "__main__":
    main()
