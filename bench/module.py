#!/usr/bin/env python3
"""The emitted PyTorch module on grids, against eqnnc itself and a plain PyTorch CNN of the
same shapes, one run on the same machine and cores:

1. Training steps per second (forward, backward, Adam; batch 50, float32, two threads) of
   bench/gcnn/regression_p4m.eqnn (P4M, three layers of 6 Regular fields = 48 channels,
   3x3 kernels, 16x16 torus): `eqnnc time --precision f32`, the module with StepScaledAdam,
   and torch.nn.Conv2d layers 1 -> 48 -> 48 -> 48 -> 1 with circular padding and Adam.
2. Peak memory of one forward pass on a 512x512 image of examples/grid/segment.eqnn
   (3 -> 64 -> 64 -> 5 channels): the module, and the plain Conv2d chain of the same shapes,
   each in its own process (peak resident set, torch itself included).

    swift build -c release && /usr/bin/python3 bench/module.py [--seconds 3] [--openblas-threads N]

Debian's python3-torch installs torch for /usr/bin/python3 (bench only). It multiplies
matrices with OpenBLAS, whose own threads contend with torch's OpenMP threads for the
two cores: a small product (forming a convolution's W from theta) then takes 1.6 ms
instead of 50 us. The bench runs torch with OPENBLAS_NUM_THREADS=1 unless told otherwise
(`--openblas-threads 0`: OpenBLAS's default); PyPI's torch uses MKL on OpenMP instead.
"""
import argparse, importlib.util, os, re, resource, subprocess, sys, tempfile, time

# Before torch loads OpenBLAS (see above); without the flag, the environment's value wins.
if "--openblas-threads" in sys.argv[1:-1]:
    threads = sys.argv[sys.argv.index("--openblas-threads") + 1]
    if threads != "0":
        os.environ["OPENBLAS_NUM_THREADS"] = threads
else:
    import one_openblas_thread  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.path.join(ROOT, ".build", "release", "eqnnc")
REGRESSION = os.path.join(ROOT, "bench", "gcnn", "regression_p4m.eqnn")
SEGMENT = os.path.join(ROOT, "examples", "grid", "segment.eqnn")


def load(source, work):
    subprocess.run([EQNNC, source, "--emit", "pytorch", "-o", work], check=True, capture_output=True)
    path = next(os.path.join(work, f) for f in sorted(os.listdir(work)) if f.endswith(".py"))
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def steps_per_second(step, seconds):
    for _ in range(3):
        step()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        runs += 1
    return runs / (time.perf_counter() - start)


def training(seconds):
    import torch
    torch.set_num_threads(2)
    torch.manual_seed(0)
    x, y = torch.randn(50, 16, 16, 1), torch.randn(50, 16, 16, 1)
    module = load(REGRESSION, tempfile.mkdtemp(prefix="eqnnc-module-"))
    net = module.Model()
    adam = module.StepScaledAdam(net, lr=3e-3)

    def module_step():
        adam.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        adam.step()

    conv = lambda i, o, k: torch.nn.Conv2d(i, o, k, padding=k // 2, padding_mode="circular")
    plain = torch.nn.Sequential(conv(1, 48, 3), torch.nn.ReLU(), conv(48, 48, 3), torch.nn.ReLU(),
                                conv(48, 48, 3), torch.nn.ReLU(), conv(48, 1, 1))
    plain_adam = torch.optim.Adam(plain.parameters(), lr=3e-3)
    xc, yc = x.permute(0, 3, 1, 2).contiguous(), y.permute(0, 3, 1, 2).contiguous()

    def plain_step():
        plain_adam.zero_grad()
        torch.nn.functional.mse_loss(plain(xc), yc).backward()
        plain_adam.step()

    def eqnnc_step_rate():
        out = subprocess.run([EQNNC, "time", REGRESSION, "--extent", "16", "--batch", "50", "--train-batch", "50",
                              "--seconds", str(seconds), "--precision", "f32"], capture_output=True, text=True, check=True).stdout
        return float(re.search(r"training, batch \d+: (\d+)", out).group(1)) / 50

    # Interleaved, each side the best of two (the machines are shared and noisy).
    rates = {"eqnnc train (f32)": [], "module, StepScaledAdam": [], "plain Conv2d, Adam": []}
    for _ in range(2):
        rates["eqnnc train (f32)"].append(eqnnc_step_rate())
        rates["module, StepScaledAdam"].append(steps_per_second(module_step, seconds))
        rates["plain Conv2d, Adam"].append(steps_per_second(plain_step, seconds))
    best = {k: max(v) for k, v in rates.items()}
    print("training steps/s, regression_p4m (48 channels, 16x16 torus, batch 50, two threads; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}):")
    for k, v in best.items():
        print(f"  {k:26s} {v:7.1f}   / eqnnc {v / best['eqnnc train (f32)']:.2f}   / plain {v / best['plain Conv2d, Adam']:.2f}")


MEMORY = r"""
import importlib.util, resource, sys, torch
torch.set_num_threads(1)
kind, path = sys.argv[1], sys.argv[2]
x = torch.randn(1, 512, 512, 3)
with torch.no_grad():
    if kind == "module":
        spec = importlib.util.spec_from_file_location("segment", path)
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        m.Model().eval()(x)
    else:
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(),
                                  torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(64, 5, 1))
        net(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def memory():
    work = tempfile.mkdtemp(prefix="eqnnc-module-")
    subprocess.run([EQNNC, SEGMENT, "--emit", "pytorch", "-o", work], check=True, capture_output=True)
    path = os.path.join(work, "segment.py")
    peak = {kind: float(subprocess.run([sys.executable, "-c", MEMORY, kind, path], capture_output=True, text=True,
                                       check=True).stdout) for kind in ("module", "plain")}
    print(f"one 512x512 image through segment.eqnn, peak resident MB (torch included): module {peak['module']:.0f}, "
          f"plain Conv2d chain {peak['plain']:.0f} (module / plain {peak['module'] / peak['plain']:.2f})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--openblas-threads", default="1", help="OpenBLAS threads for torch (read before torch loads; 0: its default)")
    args = parser.parse_args()
    if not os.path.exists(EQNNC):
        sys.exit("build first: swift build -c release")
    training(args.seconds)
    memory()


if __name__ == "__main__":
    main()
