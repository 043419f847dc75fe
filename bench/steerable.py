#!/usr/bin/env python3
"""Steerable CNNs off the pixel lattice: eqnnc's C(n) and D(n) networks beside e2cnn's
with the same layers (regular fields, the same kernels, pools and widths), and a plain
CNN, on `eqnnc data turned` (7 kinds of shapes at any angle on 24x24 images, training
and test sets both turned: the rotated-MNIST protocol), with bench/gcnn.py's protocol
(Adam, 5% warmup then cosine decay, standardized inputs, the last epoch's weights,
one run each, both cores).

Besides the test error, the equivariance error of each trained network: the first
`--probe` test images turned by every element of the group about the centre
(bilinear interpolation, the same code for both libraries) against the unturned
ones, ||F(g x) - F(x)|| / ||F(x)|| of the invariant logits; the mean over the
elements that are not multiples of 90 degrees (those that are: rounding error).
Beside it, how much of that the interpolation alone causes: the same images turned
there and back (upright again, but resampled twice) against the originals; and the
off-lattice mean again on the images blurred by a Gaussian of one pixel, where bilinear
interpolation is nearly exact (the test images are sharp shapes over pixel noise, which
one resampling smooths), so that what remains is the network's own sampling error.

    swift build -c release
    ../shared/peers/torch-peers/setup.sh          # e2cnn for /usr/bin/python3
    /usr/bin/python3 bench/steerable.py [--groups c8,c16,d16] [--epochs N] [--train N] [--band F] [--seeds N]

`--seeds N` trains every network with N seeds and adds their means: a network's equivariance
error varies by about 30% from seed to seed, so one run does not rank two libraries.

`--per-element` prints, under each row, every group element's error (rotations in degrees,
"m" before those after the mirror), and its mean over the seeds under the means.

`--band F` caps the angular frequencies of every steerable kernel at F on both sides:
eqnnc's `band F` layer option, e2cnn's `frequencies_cutoff` capped at F.

The networks are in bench/steerable/ (about 32, 64, 64 channels whatever the group).
"""
import argparse, os, re, sys, tempfile, time

import one_openblas_thread  # noqa: F401  (before NumPy and torch load OpenBLAS)
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcnn  # noqa: E402  (the protocol, eqnnc's and torch's training loops)

NETS = os.path.join(gcnn.ROOT, "bench", "steerable")
GROUPS = {"c4": (4, False), "d4": (4, True), "c8": (8, False), "c16": (16, False), "d16": (16, True)}
FIELDS = {4: (8, 16), 8: (4, 8), 16: (2, 4), 32: (1, 2)}  # group order -> fields of layer 1, of layers 2 and 3


def e2cnn_network(n, mirrors, band=None):
    from e2cnn import gspaces, nn as enn
    from e2cnn.nn.modules.r2_conv.r2convolution import _manual_fco1
    import torch
    space = gspaces.FlipRot2dOnR2(N=n) if mirrors else gspaces.Rot2dOnR2(N=n)
    first, rest = FIELDS[n * (2 if mirrors else 1)]
    regular = lambda k: enn.FieldType(space, k * [space.regular_repr])
    current = enn.FieldType(space, [space.trivial_repr])
    layers = []
    for width, kernel, pool in ((first, 5, True), (rest, 3, True), (rest, 3, False)):
        # e2cnn's default cut-off per ring (_manual_fco1), capped at the band.
        cutoff = None if band is None else (lambda r, base=_manual_fco1(kernel // 2): min(base(r), band))
        layers += [enn.R2Conv(current, regular(width), kernel, padding=kernel // 2, frequencies_cutoff=cutoff), enn.ReLU(regular(width))]
        layers += [enn.PointwiseAvgPool(regular(width), 2)] if pool else []
        current = regular(width)
    layers.append(enn.R2Conv(current, enn.FieldType(space, gcnn.ROTATED_CLASSES * [space.trivial_repr]), 1))
    body = enn.SequentialModule(*layers)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body
        def forward(self, x):  # (n, h, w, 1) -> (n, classes)
            return self.body(enn.GeometricTensor(x.permute(0, 3, 1, 2), body.in_type)).tensor.mean(dim=(2, 3))
    return Net()


def rotate(images, angle, mirrored):
    """(n, h, w, c) images turned about the centre (after the mirror (x0, x1) -> (-x0, x1)),
    each pixel reading its source by bilinear interpolation, zero outside."""
    n, h, w, c = images.shape
    i, j = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    cs, sn = np.cos(angle), np.sin(angle)
    s0, s1 = cs * i + sn * j, -sn * i + cs * j  # R(-angle) x
    if mirrored:
        s0 = -s0
    s0, s1 = s0 + (h - 1) / 2, s1 + (w - 1) / 2
    i0, j0 = np.floor(s0).astype(int), np.floor(s1).astype(int)
    out = np.zeros_like(images)
    for di in (0, 1):
        for dj in (0, 1):
            a, b = i0 + di, j0 + dj
            weight = (1 - np.abs(s0 - a)) * (1 - np.abs(s1 - b))
            valid = (a >= 0) & (a < h) & (b >= 0) & (b < w) & (weight > 0)
            out[:, valid, :] += weight[valid][None, :, None] * images[:, a[valid], b[valid], :]
    return out


def smoothed(images, sigma=1.0):
    """(n, h, w, c) images blurred by a Gaussian of `sigma` pixels (zero outside): on smooth
    images bilinear interpolation is nearly exact, so what remains is the network's own error."""
    radius = int(3 * sigma)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = images
    for axis in (1, 2):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in range(4)])
        out = sum(t * np.take(padded, np.arange(i, i + images.shape[axis]), axis=axis) for i, t in enumerate(taps))
    return out


def equivariance_error(predict, images, n, mirrors):
    """Mean over the non-lattice elements of ||F(g x) - F(x)|| / ||F(x)||, the largest over the
    lattice ones, the mean again with each sample's logits centred (softmax, and so the
    classifier, ignores a constant added to a sample's logits; the plain ratio shrinks with it),
    and the part the interpolation alone leaves: each non-lattice rotation undone by its inverse
    (two bilinear resamplings, the image upright again) against the image itself; then the
    mean on smoothed images, and every element's own error (for --per-element)."""
    centre = lambda logits: logits - logits.mean(axis=1, keepdims=True)
    relative = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)
    base = predict(images)
    off, on, off_centred, resampled = [], [], [], []
    each = {}  # element (a rotation in degrees, "m" before it after the mirror) -> its error
    for mirrored in ((False, True) if mirrors else (False,)):
        for k in range(n):
            turned = predict(rotate(images, 2 * np.pi * k / n, mirrored))
            (on if (4 * k) % n == 0 else off).append(relative(turned, base))
            each[f"{'m' if mirrored else ''}{360 * k / n:g}"] = relative(turned, base)
            if (4 * k) % n != 0:
                off_centred.append(relative(centre(turned), centre(base)))
                if not mirrored:
                    there_and_back = rotate(rotate(images, 2 * np.pi * k / n, False), -2 * np.pi * k / n, False)
                    resampled.append(relative(predict(there_and_back), base))
    mean = lambda values: float(np.mean(values)) if values else 0.0
    # The same on the images blurred (sigma 1 pixel).
    soft = smoothed(images)
    soft_base = predict(soft)
    soft_off = [relative(predict(rotate(soft, 2 * np.pi * k / n, mirrored)), soft_base)
                for mirrored in ((False, True) if mirrors else (False,)) for k in range(n) if (4 * k) % n != 0]
    return mean(off), float(max(on)), mean(off_centred), mean(resampled), mean(soft_off), each


def banded(network, band, work):
    """A copy of the network with `band F` on every kernel above 1."""
    text = re.sub(r"kernel ([3-9]|[1-9][0-9]+)\b", lambda m: f"kernel {m.group(1)} band {band}", open(network).read())
    path = os.path.join(work, f"band{band}_" + os.path.basename(network))
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", default="c8,c16,d16")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--train", type=int, default=500)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--probe", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1,
                        help="train with seeds seed .. seed + N - 1 and add each network's means (the equivariance error varies by +-30%% between seeds)")
    parser.add_argument("--only", choices=["eqnnc", "e2cnn"])
    parser.add_argument("--plain", action="store_true", help="also the plain CNN")
    parser.add_argument("--band", type=int, help="cap every steerable kernel's angular frequencies (eqnnc 'band F', e2cnn's cut-off)")
    parser.add_argument("--per-element", action="store_true", help="also each group element's error (a line under each row)")
    parser.add_argument("--train-flags", default="", help="extra 'eqnnc train' flags, for ablations (e.g. '--step-scale coefficient')")
    args = parser.parse_args()
    if not os.path.exists(gcnn.EQNNC):
        sys.exit("build first: swift build -c release")
    work = tempfile.mkdtemp(prefix="eqnnc-steerable-")
    x, y = gcnn.image_data("turned", args.train, 1, work)
    tx, ty = gcnn.image_data("turned", args.test, 2, work)
    probe = tx[:args.probe]
    print(f"turned shapes: {len(x)} training and {len(tx)} test images 24x24, {args.epochs} epochs, batch {args.batch}, Adam {args.lr}")
    # Training time two ways: the loop alone (eqnnc's epochs as its log times them, torch_train's loop), and the
    # whole (eqnnc's command: parsing, solving the bases, calibrating, writing; e2cnn's construction, whose
    # bases it builds then, and its loop).
    print(f"  {'network':30} {'parameters':>10} {'test error':>10} {'loop s':>7} {'total s':>8} {'equivariance error: off-lattice mean':>38}"
          f" {'lattice max':>12} {'off-lattice, centred logits':>28} {'interpolation alone':>20} {'smoothed images':>16}")

    runs = {}  # label -> [(parameters, error, loop, seconds, equivariance)]

    def row(label, parameters, error, loop, seconds, equivariance, record=True):
        if record:
            runs.setdefault(label, []).append((parameters, error, loop, seconds, equivariance))
            label += f" (seed {args.seed})" if args.seeds > 1 else ""
        print(f"  {label:30} {parameters:>10,} {100 * error:>9.1f}% {loop:>7.1f} {seconds:>8.1f} {equivariance[0]:>38.2e} {equivariance[1]:>12.1e}"
              f" {equivariance[2]:>28.2e} {equivariance[3]:>20.2e} {equivariance[4]:>16.2e}", flush=True)
        if args.per_element:
            print("    per element (degrees: error): " + ", ".join(f"{g}: {e:.1e}" for g, e in equivariance[5].items()), flush=True)

    first_seed = args.seed
    for args.seed in range(first_seed, first_seed + args.seeds):
        run_seed(args, x, y, tx, ty, probe, work, row)
    if args.seeds > 1:
        print(f"  means over seeds {first_seed} to {first_seed + args.seeds - 1}:")
        for label, values in runs.items():
            mean = lambda i: float(np.mean([v[i] for v in values]))
            equivariance = tuple(float(np.mean([v[4][i] for v in values])) for i in range(5)) + (
                {g: float(np.mean([v[4][5][g] for v in values])) for g in values[0][4][5]},)
            row(label, values[0][0], mean(1), mean(2), mean(3), equivariance, record=False)


def run_seed(args, x, y, tx, ty, probe, work, row):
    """The rows of one seed: each group's eqnnc and e2cnn networks, and the plain CNN."""
    for name in args.groups.split(","):
        n, mirrors = GROUPS[name]
        if args.only != "e2cnn":
            network = os.path.join(NETS, f"turned_{name}.eqnn")
            if args.band is not None:
                network = banded(network, args.band, work)
            weights, seconds, _ = gcnn.eqnnc_train(network, x, y, "cross-entropy", args.epochs, args.batch, args.lr, args.seed, work,
                                                   extra=args.train_flags.split())
            predict = lambda images: gcnn.eqnnc_predict(network, weights, images, work)
            error = gcnn.score("rotated", "cross-entropy", predict(tx), ty)
            row(f"eqnnc {name.upper()}", gcnn.eqnnc_parameters(network), error, gcnn.LAST_LOOP_SECONDS, seconds,
                equivariance_error(predict, probe, n, mirrors))
        if args.only != "eqnnc":
            import torch
            torch.set_num_threads(os.cpu_count() or 1)
            torch.manual_seed(args.seed)
            start = time.time()
            net = e2cnn_network(n, mirrors, args.band)
            built = time.time() - start
            parameters = sum(p.numel() for p in net.parameters())
            predict, seconds, _ = gcnn.torch_train(net, x, y, "cross-entropy", args.epochs, args.batch, args.lr, args.seed)
            error = gcnn.score("rotated", "cross-entropy", predict(tx), ty)
            row(f"e2cnn {name.upper()}", parameters, error, seconds, built + seconds, equivariance_error(predict, probe, n, mirrors))
    if args.plain and args.only != "e2cnn":
        network = os.path.join(NETS, "turned_plain.eqnn")
        weights, seconds, _ = gcnn.eqnnc_train(network, x, y, "cross-entropy", args.epochs, args.batch, args.lr, args.seed, work)
        predict = lambda images: gcnn.eqnnc_predict(network, weights, images, work)
        error = gcnn.score("rotated", "cross-entropy", predict(tx), ty)
        row("eqnnc plain CNN", gcnn.eqnnc_parameters(network), error, gcnn.LAST_LOOP_SECONDS, seconds, equivariance_error(predict, probe, 8, False))


if __name__ == "__main__":
    main()
