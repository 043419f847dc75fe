#!/usr/bin/env python3
"""ONNX deployment: the model `eqnnc --emit onnx` writes against the one torch.onnx.export
writes from the emitted PyTorch module, both run by onnxruntime on the same inputs
(examples/grid/segment.eqnn with a seeded initialization, 64x64 images, batch 16,
float32, one thread then two), and eqnnc's own forward (`eqnnc time --precision f32`,
two threads) beside them. Multiply-adds per image are those of the dense convolutions
(3 -> 64 3x3, 64 -> 64 3x3, 64 -> 5 1x1 on 64x64 positions: 159 million).

    swift build -c release
    python3 -m venv /tmp/ort && /tmp/ort/bin/pip install onnxruntime numpy
    /usr/bin/python3 bench/onnx.py --ort /tmp/ort/bin/python [--seconds 3]

torch (for the export) is Debian's, for /usr/bin/python3; onnxruntime comes from PyPI.
"""
import argparse, os, re, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQNNC = os.path.join(ROOT, ".build", "release", "eqnnc")
SEGMENT = os.path.join(ROOT, "examples", "grid", "segment.eqnn")
MACS = 64 * 64 * (3 * 9 * 64 + 64 * 9 * 64 + 64 * 5)

EXPORT = r"""
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("segment", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
model = m.Model().float().eval()
torch.onnx.export(model, torch.randn(2, 16, 16, 3), sys.argv[2], input_names=["x"], output_names=["y"], opset_version=16,
                  dynamic_axes={"x": {0: "batch", 1: "h", 2: "w"}, "y": {0: "batch", 1: "h", 2: "w"}})
"""

RUN = r"""
import sys, time, numpy as np, onnxruntime as ort
seconds = float(sys.argv[1])
x = np.random.default_rng(0).standard_normal((16, 64, 64, 3)).astype(np.float32)
for threads in (1, 2):
    for label, path in (("eqnnc --emit onnx", sys.argv[2]), ("torch.onnx.export of the module", sys.argv[3])):
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        s = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        best = 0.0
        for _ in range(2):  # the best of two (the machines are shared and noisy)
            s.run(None, {"x": x})
            runs, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                s.run(None, {"x": x})
                runs += 1
            best = max(best, 16 * runs / (time.perf_counter() - start))
        print(f"{label}\t{threads}\t{best:.1f}")
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ort", required=True, help="a Python with onnxruntime and numpy")
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    if not os.path.exists(EQNNC):
        sys.exit("build first: swift build -c release")
    work = tempfile.mkdtemp(prefix="eqnnc-onnx-")
    subprocess.run([EQNNC, SEGMENT, "--emit", "onnx", "-o", work], check=True, capture_output=True)
    subprocess.run([EQNNC, SEGMENT, "--emit", "pytorch", "-o", work], check=True, capture_output=True)
    exported = os.path.join(work, "exported.onnx")
    subprocess.run([sys.executable, "-c", EXPORT, os.path.join(work, "segment.py"), exported], check=True, capture_output=True)
    sizes = {name: os.path.getsize(os.path.join(work, name)) for name in ("segment.onnx", "exported.onnx")}
    out = subprocess.run([args.ort, "-c", RUN, str(args.seconds), os.path.join(work, "segment.onnx"), exported],
                         check=True, capture_output=True, text=True).stdout
    eqnnc = subprocess.run([EQNNC, "time", SEGMENT, "--extent", "64", "--batch", "16", "--seconds", str(args.seconds), "--precision", "f32"],
                           capture_output=True, text=True, check=True).stdout
    own = float(re.search(r"forward, batch \d+: (\d+)", eqnnc).group(1))
    print(f"segment.eqnn, 64x64 images, batch 16, float32 (images/s, GMAC/s); files: eqnnc {sizes['segment.onnx'] / 1e3:.0f} kB, "
          f"torch export {sizes['exported.onnx'] / 1e3:.0f} kB")
    for line in out.strip().splitlines():
        label, threads, rate = line.split("\t")
        print(f"  onnxruntime, {label:32s} {threads} thread(s): {float(rate):7.1f} images/s  {float(rate) * MACS / 1e9:5.1f} GMAC/s")
    print(f"  eqnnc's interpreter (--precision f32)            2 threads: {own:7.1f} images/s  {own * MACS / 1e9:5.1f} GMAC/s")


if __name__ == "__main__":
    main()
