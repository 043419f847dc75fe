#!/usr/bin/env python3
"""Equivariant CNNs that learn (issue 17): eqnnc's P4M networks beside e2cnn's D4
networks with the same layers and a plain CNN of about the same parameter count,
on the same data with the same protocol (Adam, 5% linear warmup then cosine decay,
inputs and outputs standardized, the last epoch's weights), one run each, both
libraries on the machine's cores.

Tasks (each network is in bench/gcnn/):
  regression  a per-pixel target on 16x16 tori, exactly equivariant to p4m and to
              translations: y = K3 * relu(K1 * x) + (K2 * x)^2 / 2 with random
              p4m-invariant 3x3 stencils K; x white noise. Relative test MSE.
  rotated     `eqnnc data turned`: classification of 7 kinds of shapes drawn at
              random angles (not only multiples of 90 degrees) and places on 24x24
              images, training and test sets both turned (the rotated-MNIST
              protocol). Test error.
  shapes      `eqnnc data shapes` segmentation, trained on upright shapes, tested
              on upright images and on the same images turned/mirrored by p4m
              (bench/shapes.py's protocol). Pixel error.

    swift build -c release
    ../shared/peers/torch-peers/setup.sh          # e2cnn for /usr/bin/python3
    /usr/bin/python3 bench/gcnn.py [--tasks regression,rotated,shapes] [--epochs N]

Needs torch and e2cnn for /usr/bin/python3 (bench only, never a build or test
dependency). `--only eqnnc` skips e2cnn. Warnings from e2cnn go to stderr.
"""
import argparse, json, math, os, subprocess, sys, tempfile, time

import one_openblas_thread  # noqa: F401  (before NumPy and torch load OpenBLAS)
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.environ.get("EQNNC", os.path.join(ROOT, ".build", "release", "eqnnc"))
NETS = os.path.join(ROOT, "bench", "gcnn")


def d4(images, k):
    """Element k of p4m on (..., n, n) arrays: k % 4 quarter turns, then a mirror for k >= 4."""
    out = np.rot90(images, k % 4, axes=(-2, -1))
    return out[..., ::-1] if k >= 4 else out


# ---------------------------------------------------------------- data

def symmetric_stencil(rng):
    """A random p4m-invariant 3x3 stencil: one value for the centre, the edges, the corners."""
    c, e, k = rng.normal(size=3)
    return np.array([[k, e, k], [e, c, e], [k, e, k]])


def circular_conv(x, kernel):
    """(n, h, w) images with a 3x3 kernel, circular padding (cross-correlation)."""
    out = np.zeros_like(x)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out += kernel[dy + 1, dx + 1] * np.roll(x, (-dy, -dx), axis=(1, 2))
    return out


def regression_data(samples, seed, extent=16):
    stencils = [symmetric_stencil(np.random.default_rng(100 + i)) for i in range(3)]
    x = np.random.default_rng(seed).normal(size=(samples, extent, extent))
    y = circular_conv(np.maximum(circular_conv(x, stencils[0]), 0), stencils[2]) + 0.5 * circular_conv(x, stencils[1]) ** 2
    return x[..., None], y[..., None]


ROTATED_CLASSES = 7  # eqnnc data turned: disc, ring, square, triangle, cross, bar, L


# ---------------------------------------------------------------- eqnnc

def eqnnc(*args, log=False):
    result = subprocess.run([EQNNC, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"eqnnc {' '.join(args)} failed:\n{result.stderr}")
    return result.stderr if log else result.stdout


def eqnnc_parameters(network):
    return json.loads(eqnnc("check", network, "--format", "json"))["networks"][0]["parameters"]


def eqnnc_train(network, x, y, loss, epochs, batch, lr, seed, work, extra=()):
    xp, yp, wp = (os.path.join(work, n) for n in ("x.npy", "y.npy", os.path.basename(network) + ".safetensors"))
    np.save(xp, x), np.save(yp, y)
    start = time.time()
    log = eqnnc("train", network, "--x", xp, "--y", yp, "--loss", loss, "--epochs", str(epochs), "--batch", str(batch),
                "--lr", str(lr), "--seed", str(seed), "--precision", "f32", "--val-fraction", "0", "-o", wp, *extra, log=True)
    seconds = time.time() - start
    # The log's losses are in the data's units: the first epoch's, in standardized units as torch's.
    first = next(float(line.split("train")[1].split()[0]) for line in log.splitlines() if line.startswith("epoch"))
    first /= y.var() if loss == "mse" else 1
    # The training loop alone (the epochs' seconds, as torch_train times its loop), beside the whole command
    # (which also parses, solves the bases, reads the data, calibrates and writes the weights).
    global LAST_LOOP_SECONDS
    LAST_LOOP_SECONDS = sum(float(line.split()[-2]) for line in log.splitlines() if line.startswith("epoch"))
    return wp, seconds, first


LAST_LOOP_SECONDS = 0.0


def eqnnc_predict(network, weights, x, work):
    xp, out = os.path.join(work, "eval_x.npy"), os.path.join(work, "eval_out.npy")
    np.save(xp, x)
    eqnnc("run", network, "--weights", weights, "--input", xp, "--output", out)
    return np.load(out)


# ---------------------------------------------------------------- e2cnn and torch

def e2cnn_network(task, extent, batchnorm=False):
    from e2cnn import gspaces, nn as enn
    import torch
    space = gspaces.FlipRot2dOnR2(N=4)
    def fields(n, regular=True):
        return enn.FieldType(space, n * [space.regular_repr if regular else space.trivial_repr])
    def norm(field_type):
        return [enn.InnerBatchNorm(field_type)] if batchnorm else []
    layers = []
    if task == "regression":
        current = fields(1, regular=False)
        for _ in range(3):
            layers += [enn.R2Conv(current, fields(6), 3, padding=1, padding_mode="circular")] + norm(fields(6)) + [enn.ReLU(fields(6))]
            current = fields(6)
        layers.append(enn.R2Conv(current, fields(1, regular=False), 1))
        head = None
    elif task == "rotated":
        current = fields(1, regular=False)
        for width, kernel, pool in ((6, 5, True), (12, 3, True), (12, 3, False)):
            layers += [enn.R2Conv(current, fields(width), kernel, padding=kernel // 2)] + norm(fields(width)) + [enn.ReLU(fields(width))]
            layers += [enn.PointwiseAvgPool(fields(width), 2)] if pool else []
            current = fields(width)
        layers.append(enn.R2Conv(current, fields(ROTATED_CLASSES, regular=False), 1))
        head = "mean"
    else:
        current = fields(3, regular=False)
        for _ in range(3):
            layers += [enn.R2Conv(current, fields(4), 5, padding=2)] + norm(fields(4)) + [enn.ReLU(fields(4))]
            current = fields(4)
        layers.append(enn.R2Conv(current, fields(5, regular=False), 1))
        head = None
    body = enn.SequentialModule(*layers)
    in_type = body.in_type

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body
        def forward(self, x):  # x: (n, h, w, c) -> (n, h, w, c) or (n, c)
            out = self.body(enn.GeometricTensor(x.permute(0, 3, 1, 2), in_type)).tensor
            return out.mean(dim=(2, 3)) if head == "mean" else out.permute(0, 2, 3, 1)
    return Net()


def torch_train(net, x, y, loss, epochs, batch, lr, seed, optimizer=None):
    """eqnnc's protocol in torch: standardized input (and output for mse), Adam (or `optimizer`,
    a function of the net and the learning rate), 5% warmup, cosine decay."""
    import torch
    torch.manual_seed(seed)
    x_mean, x_std = x.mean(), x.std()
    xt = torch.tensor((x - x_mean) / x_std, dtype=torch.float32)
    if loss == "mse":
        y_mean, y_std = y.mean(), y.std()
        yt = torch.tensor((y - y_mean) / y_std, dtype=torch.float32)
    else:
        yt = torch.tensor(y[..., 0], dtype=torch.long)
    optimizer = optimizer(net, lr) if optimizer else torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    steps_per_epoch = (len(x) + batch - 1) // batch
    total = steps_per_epoch * epochs
    warmup = max(1, total // 20)
    schedule = lambda step: (step + 1) / warmup if step + 1 <= warmup else 0.5 * (1 + math.cos(math.pi * (step + 1 - warmup) / max(1, total - warmup)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    generator = torch.Generator().manual_seed(seed)
    first = None
    start = time.time()
    net.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        total_loss = 0.0
        for i in range(0, len(x), batch):
            rows = order[i:i + batch]
            out = net(xt[rows])
            if loss == "mse":
                value = ((out - yt[rows]) ** 2).mean()
            else:
                logits = out.reshape(-1, out.shape[-1])
                value = torch.nn.functional.cross_entropy(logits, yt[rows].reshape(-1))
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            scheduler.step()
            total_loss += value.item() * len(rows)
        if first is None:
            first = total_loss / len(x)
    seconds = time.time() - start
    net.eval()

    def predict(inputs):
        with torch.no_grad():
            outs = [net(torch.tensor((inputs[i:i + 200] - x_mean) / x_std, dtype=torch.float32)).numpy()
                    for i in range(0, len(inputs), 200)]
        out = np.concatenate(outs).astype(np.float64)
        return out * y_std + y_mean if loss == "mse" else out
    return predict, seconds, first


def eqnnc_module(network, x, y, loss, work):
    """The PyTorch module eqnnc emits for `network`, started from `eqnnc train --epochs 0`
    (the calibrated initialization); its normalizer set to identity, because torch_train
    standardizes the data itself (the same statistics for these one-kind-of-channel inputs),
    and the module class's StepScaledAdam."""
    import importlib.util
    emitted = os.path.join(work, "module")
    eqnnc(network, "--emit", "pytorch", "-o", emitted)
    path = next(os.path.join(emitted, f) for f in os.listdir(emitted) if f.endswith(".py"))
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    xp, yp, wp = (os.path.join(work, name) for name in ("module_x.npy", "module_y.npy", "module_init.safetensors"))
    np.save(xp, x)
    np.save(yp, y)
    eqnnc("train", network, "--x", xp, "--y", yp, "--loss", loss, "--epochs", "0", "--val-fraction", "0", "-o", wp)
    net = module.Model()
    net.double().load_safetensors(wp)
    net = net.float()
    for buffer in (net.normalizer.input_shift, net.normalizer.output_shift):
        buffer.zero_()
    for buffer in (net.normalizer.input_scale, net.normalizer.output_scale):
        buffer.fill_(1)
    return net, module.StepScaledAdam


# ---------------------------------------------------------------- tasks

# Every task trains eqnnc's P4M network (with the defaults, and as ablations with the random
# initialization and with unscaled Adam steps, as it trained before both existed), the same with
# batchnorm before each relu, plain CNNs, and e2cnn's D4 network without and with
# InnerBatchNorm (its batchnorm for regular fields, the same statistics as eqnnc's).
TASKS = {
    # name: (networks: [(label, file, extra eqnnc train flags)], loss, defaults)
    "regression": ([("eqnnc D4, steerable kernels", "regression_d4.eqnn", []),
                    ("eqnnc P4M", "regression_p4m.eqnn", []),
                    ("eqnnc P4M, --init random", "regression_p4m.eqnn", ["--init", "random"]),
                    ("eqnnc P4M, --step-scale coefficient", "regression_p4m.eqnn", ["--step-scale", "coefficient"]),
                    ("eqnnc P4M + batchnorm", "regression_p4m_batchnorm.eqnn", []),
                    ("eqnnc plain CNN", "regression_plain.eqnn", [])], "mse",
                   dict(train=2000, test=500, epochs=40, batch=50, lr=3e-3)),
    "rotated": ([("eqnnc D4, steerable kernels", "rotated_d4.eqnn", []),
                 ("eqnnc P4M", "rotated_p4m.eqnn", []),
                 ("eqnnc P4M, --init random", "rotated_p4m.eqnn", ["--init", "random"]),
                    ("eqnnc P4M, --step-scale coefficient", "rotated_p4m.eqnn", ["--step-scale", "coefficient"]),
                 ("eqnnc P4M + batchnorm", "rotated_p4m_batchnorm.eqnn", []),
                 ("eqnnc plain CNN", "rotated_plain.eqnn", [])], "cross-entropy",
                dict(train=1000, test=1000, epochs=40, batch=50, lr=3e-3)),
    "shapes": ([("eqnnc D4, steerable kernels", "shapes_d4.eqnn", []),
                ("eqnnc P4M", "../shapes_p4m.eqnn", []),
                ("eqnnc P4M, --init random", "../shapes_p4m.eqnn", ["--init", "random"]),
                    ("eqnnc P4M, --step-scale coefficient", "../shapes_p4m.eqnn", ["--step-scale", "coefficient"]),
                ("eqnnc P4M + batchnorm", "shapes_p4m_batchnorm.eqnn", []),
                ("eqnnc plain CNN", "shapes_plain_same_parameters.eqnn", []),
                ("eqnnc plain, P4M widths", "../shapes_plain.eqnn", [])], "cross-entropy",
               dict(train=400, test=200, epochs=40, batch=16, lr=3e-3)),
}


def image_data(task, samples, seed, work, extent=24):
    """`eqnnc data shapes` (segmentation, upright) or `eqnnc data turned` (classification, any angle)."""
    xp, yp = os.path.join(work, "data_x.npy"), os.path.join(work, "data_y.npy")
    eqnnc("data", task, "--samples", str(samples), "--extent", str(extent), "--seed", str(seed), "--x", xp, "--y", yp)
    return np.load(xp), np.load(yp)


def task_data(task, args, work):
    """Training x, y and the named test sets [(name, x, y)]."""
    if task == "regression":
        (x, y), (tx, ty) = regression_data(args.train, 1), regression_data(args.test, 2)
        return x, y, [("test", tx, ty)]
    if task == "rotated":
        (x, y), (tx, ty) = image_data("turned", args.train, 1, work), image_data("turned", args.test, 2, work)
        return x, y, [("test", tx, ty)]
    (x, y), (tx, ty) = image_data("shapes", args.train, 1, work), image_data("shapes", args.test, 2, work)
    elements = np.random.default_rng(3).integers(1, 8, size=len(tx))  # never the identity
    turn = lambda a: np.stack([np.moveaxis(d4(np.moveaxis(i, -1, 0), k), 0, -1) for i, k in zip(a, elements)])
    return x, y, [("upright", tx, ty), ("turned", turn(tx), turn(ty))]


def score(task, loss, prediction, y):
    if loss == "mse":
        return float(((prediction - y) ** 2).mean() / y.var())
    return float((prediction.argmax(-1) != y[..., 0]).mean())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["eqnnc", "e2cnn"])
    parser.add_argument("--networks", help="only the rows whose label is one of these, separated by semicolons")
    parser.add_argument("--train", type=int)
    parser.add_argument("--test", type=int)
    parser.add_argument("--eqnnc-flags", default="", help="extra flags for eqnnc train (ablations)")
    args = parser.parse_args()
    if not os.path.exists(EQNNC):
        sys.exit("build first: swift build -c release")
    work = tempfile.mkdtemp(prefix="eqnnc-gcnn-")
    given = {key: getattr(args, key, None) for key in ("train", "test", "epochs", "batch", "lr")}
    for task in args.tasks.split(","):
        networks, loss, defaults = TASKS[task]
        for key, value in defaults.items():
            setattr(args, key, given[key] if given.get(key) is not None else value)
        x, y, tests = task_data(task, args, work)
        print(f"{task}: {len(x)} training samples, {args.epochs} epochs, batch {args.batch}, Adam {args.lr}; "
              f"{'relative test MSE' if loss == 'mse' else 'test error'}")
        # Training time: the loop alone (eqnnc's epochs as its log times them; torch_train's loop), then the whole
        # (eqnnc's command, with its parsing, bases, calibration and files; e2cnn's construction and loop).
        print(f"  {'network':36} {'parameters':>10} {'first epoch':>12} " + " ".join(f"{name:>12}" for name, _, _ in tests)
              + f" {'loop s':>7} {'total s':>8}")
        rows = []
        if args.only != "e2cnn":
            for label, file, flags in networks:
                if args.networks and label not in args.networks.split(";"):
                    continue
                network = os.path.join(NETS, file)
                weights, seconds, first = eqnnc_train(network, x, y, loss, args.epochs, args.batch, args.lr, args.seed, work,
                                                      flags + args.eqnnc_flags.split())
                scores = [score(task, loss, eqnnc_predict(network, weights, tx, work), ty) for _, tx, ty in tests]
                rows.append((label, eqnnc_parameters(network), first, scores, seconds))
                print(f"  {label:36} {rows[-1][1]:>10,} {first:>12.4f} " + " ".join(f"{s:>12.4g}" for s in scores)
                      + f" {LAST_LOOP_SECONDS:>7.1f} {seconds:>8.1f}", flush=True)
        if args.only != "eqnnc":
            import torch
            torch.set_num_threads(os.cpu_count() or 1)
            for label, step_scaled in (("eqnnc module (PyTorch), StepScaledAdam", True), ("eqnnc module (PyTorch), torch Adam", False)):
                if not args.networks or label not in args.networks.split(";"):
                    continue  # only when asked for: the module trains on the CPU several times slower than eqnnc
                network = os.path.join(NETS, next(file for name, file, _ in networks if name == "eqnnc P4M"))
                net, scaled_adam = eqnnc_module(network, x, y, loss, work)
                optimizer = (lambda n, rate: scaled_adam(n, lr=rate)) if step_scaled else None
                predict, seconds, first = torch_train(net, x, y, loss, args.epochs, args.batch, args.lr, args.seed, optimizer)
                scores = [score(task, loss, predict(tx), ty) for _, tx, ty in tests]
                print(f"  {label:36} {eqnnc_parameters(network):>10,} {first:>12.4f} " + " ".join(f"{s:>12.4g}" for s in scores)
                      + f" {seconds:>7.1f} {'':>8}", flush=True)
            for label, batchnorm in (("e2cnn D4", False), ("e2cnn D4 + batchnorm", True)):
                if args.networks and label not in args.networks.split(";"):
                    continue
                torch.manual_seed(args.seed)
                start = time.time()
                net = e2cnn_network(task, x.shape[1], batchnorm)
                built = time.time() - start
                parameters = sum(p.numel() for p in net.parameters())
                predict, seconds, first = torch_train(net, x, y, loss, args.epochs, args.batch, args.lr, args.seed)
                scores = [score(task, loss, predict(tx), ty) for _, tx, ty in tests]
                print(f"  {label:36} {parameters:>10,} {first:>12.4f} " + " ".join(f"{s:>12.4g}" for s in scores)
                      + f" {seconds:>7.1f} {built + seconds:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
