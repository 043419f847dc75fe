#!/usr/bin/env python3
"""Where a trained steerable network's equivariance error comes from: the two diagnostics
behind docs/benchmarks.md ("The step that made eqnnc's trained networks less equivariant").

    swift build -c release
    ../shared/peers/torch-peers/setup.sh          # e2cnn and torch for /usr/bin/python3
    /usr/bin/python3 bench/steerable_ablations.py layers [--group c8] [--seeds 3]
    /usr/bin/python3 bench/steerable_ablations.py steps  [--group c8] [--seeds 5] [--lr 3e-3]
    /usr/bin/python3 bench/steerable_ablations.py readout [--group c8] [--seeds 6] [--scales 1,0.25,0.1,0]

`layers` trains eqnnc's and e2cnn's network (bench/steerable.py's data, layers and
protocol) and measures each layer's equivariance error before and after its relu, on the
norms of the fields (each Regular field's channels: no channel order changes them) of
smoothed probe images turned by the off-lattice elements against the turned feature maps,
inside the disc; the size of the features; the share of each 3x3 kernel's energy on its
centre pixel.

`steps` trains the PyTorch module that eqnnc emits for the same network with bench/gcnn.py's
torch loop and different optimizers (torch's Adam, which moves every coefficient alike as
it does e2cnn's; StepScaledAdam with the module's step scales; variants), and reports the
test error and the equivariance error of bench/steerable.py.

`readout` trains the same emitted module with its StepScaledAdam from the random draw with
some layers' weights scaled (`--layers`: output, the default, or e.g. layer1,layer2,layer3, or
all), one seed fixing the draw and the data order, and reports the same figures: how much of
the trained network's equivariance error its random initial weights leave behind.
"""
import argparse, importlib.util, os, subprocess, sys, tempfile

import one_openblas_thread  # noqa: F401  (before NumPy and torch load OpenBLAS)
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcnn  # noqa: E402
import steerable  # noqa: E402


def emitted_module(network, work):
    """The class of the PyTorch module eqnnc emits for `network`, and its module."""
    out = os.path.join(work, "module")
    subprocess.run([gcnn.EQNNC, "check", network, "--emit", "pytorch", "-o", out], check=True, capture_output=True)
    path = os.path.join(out, os.path.basename(network).replace(".eqnn", ".py"))
    spec = importlib.util.spec_from_file_location("emitted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, module._EqnnModule) and v is not module._EqnnModule]
    return classes[0], module


def field_norms(features, size):
    """(b, h, w, c) -> (b, h, w, c / size): each field's Euclidean norm."""
    b, h, w, c = features.shape
    return np.sqrt((features.reshape(b, h, w, c // size, size) ** 2).sum(-1))


def layer_errors(stages, images, n, field):
    """Mean over the off-lattice rotations of each stage's relative error, on field norms inside the disc."""
    base = [field_norms(s, field) for s in stages(images)]
    errors, count = np.zeros(len(base)), 0
    for k in range(n):
        if (4 * k) % n == 0:
            continue
        angle = 2 * np.pi * k / n
        turned = [field_norms(s, field) for s in stages(steerable.rotate(images, angle, False))]
        for i, (t, b) in enumerate(zip(turned, base)):
            expected = steerable.rotate(b, angle, False)
            h = b.shape[1]
            u, v = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(h) - (h - 1) / 2, indexing="ij")
            disc = (u ** 2 + v ** 2 <= (h / 2 - 1) ** 2)[None, :, :, None]
            errors[i] += np.linalg.norm((t - expected) * disc) / np.linalg.norm(expected * disc)
        count += 1
    return errors / count


def centre_share(kernel):
    """The share of a (out, in, k, k) kernel's energy on its centre pixel."""
    energy = (kernel.astype(np.float64) ** 2).sum(axis=(0, 1))
    return float(energy[kernel.shape[-1] // 2, kernel.shape[-1] // 2] / energy.sum())


def layers(args, x, y, tx, work):
    import torch
    from e2cnn import nn as enn
    n, mirrors = steerable.GROUPS[args.group]
    field = n * (2 if mirrors else 1)
    network = os.path.join(steerable.NETS, f"turned_{args.group}.eqnn")
    probe = steerable.smoothed(tx[:args.probe])
    cls, _ = emitted_module(network, work)
    rows = {"eqnnc": [], "e2cnn": []}
    for seed in range(args.seeds):
        weights, _, _ = gcnn.eqnnc_train(network, x, y, "cross-entropy", args.epochs, 50, args.lr, seed, work)
        model = cls()
        model.load_safetensors(weights)
        model.eval()
        ops = list(model.ops)
        # The ops that read a parameter (convolution, linear, bias) take them in the file's order.
        names = iter(name for name, _ in model.PARAMETERS)
        reads = {i: model.get_parameter(next(names)) for i, op in enumerate(ops)
                 if type(op).__name__ in ("_Convolution", "_Linear", "_Bias")}
        last_relu = max(i for i, op in enumerate(ops) if type(op).__name__ == "_Pointwise")

        def eqnnc_stages(images):
            """Each hidden layer's output before its relu (after the bias) and after it."""
            with torch.no_grad():
                h = (torch.tensor(images, dtype=torch.float64) - model.normalizer.input_shift) / model.normalizer.input_scale
                out = []
                for i, op in enumerate(ops[:last_relu + 1]):
                    h = op(h, reads[i]) if i in reads else op(h)
                    if type(ops[i + 1]).__name__ == "_Pointwise" or type(op).__name__ == "_Pointwise":
                        out.append(h.numpy())
                return out

        kernels = [op.linear.weight(reads[i], torch.zeros(1, dtype=torch.float64)).reshape(op.shape).detach().numpy()
                   for i, op in enumerate(ops) if type(op).__name__ == "_Convolution"]
        outs = eqnnc_stages(probe)
        rows["eqnnc"].append((layer_errors(eqnnc_stages, probe, n, field), [float(np.sqrt((o ** 2).mean())) for o in outs[1::2]],
                              [centre_share(k) for k in kernels if k.shape[-1] == 3]))

        torch.manual_seed(seed)
        net = steerable.e2cnn_network(n, mirrors)
        gcnn.torch_train(net, x, y, "cross-entropy", args.epochs, 50, args.lr, seed)
        net.eval()
        mean, std = float(x.mean()), float(x.std())

        def e2cnn_stages(images):
            with torch.no_grad():
                h = enn.GeometricTensor(((torch.tensor(images, dtype=torch.float32) - mean) / std).permute(0, 3, 1, 2), net.body.in_type)
                out = []
                for layer in net.body._modules.values():
                    if isinstance(layer, enn.ReLU):
                        out.append(h.tensor.permute(0, 2, 3, 1).numpy().astype(np.float64))
                    h = layer(h)
                    if isinstance(layer, enn.ReLU):
                        out.append(h.tensor.permute(0, 2, 3, 1).numpy().astype(np.float64))
                return out

        kernels = [c.expand_parameters()[0].detach().numpy() for c in net.body._modules.values() if isinstance(c, enn.R2Conv)]
        outs = e2cnn_stages(probe)
        rows["e2cnn"].append((layer_errors(e2cnn_stages, probe, n, field), [float(np.sqrt((o ** 2).mean())) for o in outs[1::2]],
                              [centre_share(k) for k in kernels if k.shape[-1] == 3]))
        for library in rows:
            errors, sizes, centres = rows[library][-1]
            print(f"seed {seed} {library:6} errors before / after relu: "
                  + "  ".join(f"{errors[i]:.2e} / {errors[i + 1]:.2e}" for i in range(0, len(errors), 2))
                  + "  feature rms: " + ", ".join(f"{s:.1f}" for s in sizes)
                  + "  3x3 centre share: " + ", ".join(f"{c:.1%}" for c in centres), flush=True)
    for library, r in rows.items():
        errors = np.mean([e for e, _, _ in r], axis=0)
        print(f"mean   {library:6} errors before / after relu: "
              + "  ".join(f"{errors[i]:.2e} / {errors[i + 1]:.2e}" for i in range(0, len(errors), 2))
              + "  feature rms: " + ", ".join(f"{s:.1f}" for s in np.mean([s for _, s, _ in r], axis=0))
              + "  3x3 centre share: " + ", ".join(f"{c:.1%}" for c in np.mean([c for _, _, c in r], axis=0)))


def steps(args, x, y, tx, ty, work):
    import torch
    n, mirrors = steerable.GROUPS[args.group]
    network = os.path.join(steerable.NETS, f"turned_{args.group}.eqnn")
    cls, module = emitted_module(network, work)

    def scaled(net, lr, output=None, widest=False):
        optimizer = module.StepScaledAdam(net, lr=lr)
        names = {id(p): name for name, p in net.named_parameters()}
        scales = []
        for p, s in optimizer._scales:
            if output is not None and names[id(p)] == "output.weight":
                s = torch.full_like(s, output)
            elif widest:
                s = torch.full_like(s, float(s.max()))
            scales.append((p, s))
        optimizer._scales = scales
        return optimizer

    variants = {"adam": None, "scaled": scaled, "widest": lambda net, lr: scaled(net, lr, widest=True),
                "scaled-output": lambda net, lr: scaled(net, lr, output=args.output_scale)}
    results = {}
    for seed in range(args.seeds):
        for name in args.variants.split(","):
            torch.manual_seed(seed)
            net = cls(seed=seed).float()
            predict, seconds, _ = gcnn.torch_train(net, x, y, "cross-entropy", args.epochs, 50, args.lr, seed, optimizer=variants[name])
            error = gcnn.score("rotated", "cross-entropy", predict(tx), ty)
            equivariance = steerable.equivariance_error(predict, tx[:args.probe], n, mirrors)
            results.setdefault(name, []).append((error, equivariance[0], equivariance[4]))
            print(f"seed {seed} {name:14} test error {100 * error:5.1f}%  off-lattice {equivariance[0]:.2e}  smoothed {equivariance[4]:.2e}"
                  f"  ({seconds:.1f} s)", flush=True)
    for name, r in results.items():
        a = np.array(r)
        print(f"mean   {name:14} test error {100 * a[:, 0].mean():5.1f}%  off-lattice {a[:, 1].mean():.2e}  smoothed {a[:, 2].mean():.2e}")


def readout(args, x, y, tx, ty, work):
    import torch
    n, mirrors = steerable.GROUPS[args.group]
    cls, module = emitted_module(os.path.join(steerable.NETS, f"turned_{args.group}.eqnn"), work)
    layers = None if args.layers == "all" else set(args.layers.split(","))
    for scale in (float(s) for s in args.scales.split(",")):
        results = []
        for seed in range(args.seeds):
            net = cls(seed=seed).float()
            with torch.no_grad():
                for name, p in net.named_parameters():
                    if not name.endswith(".bias") and (layers is None or name.split(".")[0] in layers):
                        p.mul_(scale)
            predict, seconds, _ = gcnn.torch_train(net, x, y, "cross-entropy", args.epochs, 50, args.lr, seed,
                                                   optimizer=lambda net, lr: module.StepScaledAdam(net, lr=lr))
            error = gcnn.score("rotated", "cross-entropy", predict(tx), ty)
            equivariance = steerable.equivariance_error(predict, tx[:args.probe], n, mirrors)
            results.append((error, equivariance[0], equivariance[4]))
            print(f"seed {seed} {args.layers} x {scale:<5g} test error {100 * error:5.1f}%  off-lattice {equivariance[0]:.2e}"
                  f"  smoothed {equivariance[4]:.2e}", flush=True)
        a = np.array(results)
        print(f"mean   {args.layers} x {scale:<5g} test error {100 * a[:, 0].mean():5.1f}%  off-lattice {a[:, 1].mean():.2e}"
              f"  smoothed {a[:, 2].mean():.2e}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["layers", "steps", "readout"])
    parser.add_argument("--group", default="c8", choices=sorted(steerable.GROUPS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--probe", type=int, default=100)
    parser.add_argument("--variants", default="adam,scaled,widest,scaled-output",
                        help="steps: adam (torch's), scaled (StepScaledAdam), widest (each tensor's largest scale), scaled-output")
    parser.add_argument("--output-scale", type=float, default=20.0, help="steps: the output op's scale in scaled-output")
    parser.add_argument("--scales", default="1,0.25,0.1,0", help="readout: the factors on the initial weights")
    parser.add_argument("--layers", default="output", help="readout: which layers' weights (output, layer1,layer2, ..., or all)")
    args = parser.parse_args()
    if not os.path.exists(gcnn.EQNNC):
        sys.exit("build first: swift build -c release")
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    work = tempfile.mkdtemp(prefix="eqnnc-ablations-")
    x, y = gcnn.image_data("turned", 500, 1, work)
    tx, ty = gcnn.image_data("turned", 1000, 2, work)
    if args.what == "layers":
        layers(args, x, y, tx, work)
    elif args.what == "steps":
        steps(args, x, y, tx, ty, work)
    else:
        readout(args, x, y, tx, ty, work)


if __name__ == "__main__":
    main()
