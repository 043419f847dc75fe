#!/usr/bin/env python3
"""Scale-out training of an eqnnc network in PyTorch: DistributedDataParallel
over torchrun (GPUs with NCCL when there are some, else CPU processes with
gloo), reading .npy data, writing an eqnnc weights file that `eqnnc run`,
`eqnnc evaluate` and `eqnnc FILE --emit c --weights` take back.

    eqnnc examples/fww21/inertia.eqnn --emit pytorch -o build/
    torchrun --nproc_per_node 8 examples/pytorch/train_ddp.py --module build/inertia.py \\
        --x train_x.npy --y train_y.npy --val-x val_x.npy --val-y val_y.npy -o trained.safetensors
    eqnnc examples/fww21/inertia.eqnn --emit c --weights trained.safetensors -o build/

On one machine without torchrun, `--local-processes N` starts the N processes itself.

It trains as `eqnnc train` does: the normalizer fitted on the training data
(or taken from --init), Adam with eqnnc's step scales (StepScaledAdam; `--step-scale
coefficient` for torch's plain Adam) and a cosine schedule after a 5% warmup, mean
squared error, and the weights of the epoch with the best validation loss
(the last epoch without validation data). --batch is the global batch, split
over the processes. Needs torch and NumPy only.
"""
import argparse
import importlib.util
import math
import os
import socket
import subprocess
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def load_module(path):
    """The generated file's network class and its StepScaledAdam."""
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Model, module.StepScaledAdam


def mse(model, x, y, batch=4096):
    """Mean squared error over every output coordinate, in the model's precision, summed in float64."""
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            d = model(x[i:i + batch]).double() - y[i:i + batch].double()
            total += float((d * d).sum())
            count += d.numel()
    return total / max(1, count)


def launch_locally(processes):
    """What `torchrun --standalone --nproc_per_node N` does, for machines whose
    torchrun is broken (Debian's torch 1.13 on Python 3.11): this script again,
    N times, with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    children = []
    for rank in range(processes):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(processes),
                   LOCAL_WORLD_SIZE=str(processes), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        children.append(subprocess.Popen([sys.executable] + sys.argv, env=env))
    codes = [child.wait() for child in children]
    return max(codes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", required=True, help="the .py file eqnnc --emit pytorch wrote")
    ap.add_argument("--x", required=True)
    ap.add_argument("--y", required=True)
    ap.add_argument("--val-x")
    ap.add_argument("--val-y")
    ap.add_argument("--test-x")
    ap.add_argument("--test-y")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch", type=int, default=500, help="global batch (all processes together)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", choices=["f32", "f64"], default="f32")
    ap.add_argument("--init", help="start from an eqnnc weights file (its normalizer too), e.g. eqnnc train's "
                    "calibrated initialization: eqnnc train FILE --x X --y Y --epochs 0 -o init.safetensors")
    ap.add_argument("--step-scale", choices=["entry", "coefficient"], default="entry",
                    help="entry (as eqnnc train): Adam's step per coefficient times sqrt(its basis matrix's entries)")
    ap.add_argument("--predict", help="write the trained model's outputs for --test-x here (.npy, float64)")
    ap.add_argument("-o", "--output", required=True, help="the eqnnc weights file to write (.safetensors)")
    ap.add_argument("--local-processes", type=int, default=0,
                    help="start this many processes on this machine itself, with the environment torchrun would give them")
    args = ap.parse_args()
    if args.local_processes > 1 and "RANK" not in os.environ:
        return launch_locally(args.local_processes)

    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    cuda = torch.cuda.is_available()
    if distributed:
        dist.init_process_group("nccl" if cuda else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    dtype = torch.float64 if args.precision == "f64" else torch.float32

    Model, StepScaledAdam = load_module(args.module)
    model = Model(seed=args.seed)
    x, y = torch.from_numpy(np.load(args.x)), torch.from_numpy(np.load(args.y))
    if args.init:
        model.double().load_safetensors(args.init)
    else:
        model.fit_normalizer(x, y)  # every process fits the same data: the same normalizer
    model = model.to(device=device, dtype=dtype)
    net = DistributedDataParallel(model) if distributed else model
    x, y = x.to(device, dtype), y.to(device, dtype)
    val = None
    if args.val_x and args.val_y:
        val = (torch.from_numpy(np.load(args.val_x)).to(device, dtype), torch.from_numpy(np.load(args.val_y)).to(device, dtype))

    if args.step_scale == "entry":
        optimizer = StepScaledAdam(model, lr=args.lr)
    else:
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    local_batch = max(1, args.batch // world)
    steps_per_epoch = max(1, math.ceil(len(x) / (local_batch * world)))
    total = steps_per_epoch * args.epochs
    warmup = max(1, total // 20)
    schedule = lambda step: (step + 1) / warmup if step < warmup else \
        0.5 * (1 + math.cos(math.pi * (step + 1 - warmup) / max(1, total - warmup)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    generator = torch.Generator().manual_seed(args.seed)
    best, best_state = math.inf, None
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        # The same permutation on every process; each takes its stride of it.
        order = torch.randperm(len(x), generator=generator)[rank::world].to(device)
        running, seen = 0.0, 0
        for step in range(steps_per_epoch):
            rows = order[step * local_batch:(step + 1) * local_batch]
            if len(rows) == 0:
                rows = order[:1]  # keep the processes in step (DDP all-reduces every step)
            loss = ((net(x[rows]) - y[rows]) ** 2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += float(loss) * len(rows)
            seen += len(rows)
        if rank == 0:
            line = f"epoch {epoch}/{args.epochs}  train {running / max(1, seen):.4e}"
            score = running / max(1, seen)
            if val is not None:
                score = mse(model, *val)
                line += f"  val {score:.4e}"
            print(line + f"  lr {scheduler.get_last_lr()[0]:.3e}  {time.time() - start:.1f} s", flush=True)
            if val is None or score < best:
                best, best_state = score, {k: v.detach().clone() for k, v in model.state_dict().items()}
    if rank == 0:
        model.load_state_dict(best_state)
        model.save_safetensors(args.output)
        print(f"wrote {args.output}", flush=True)
        if args.test_x and args.test_y:
            reference = model.double()
            tx = torch.from_numpy(np.load(args.test_x)).to(device, torch.float64)
            ty = torch.from_numpy(np.load(args.test_y)).to(device, torch.float64)
            print(f"test mse {mse(reference, tx, ty):.6e} on {len(tx)} samples", flush=True)
            if args.predict:
                with torch.no_grad():
                    np.save(args.predict, reference(tx).cpu().numpy())
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
