#!/usr/bin/env bash
# The three synthetic tasks of Finzi, Welling and Wilson (2021), trained from
# the command line with the paper's protocol (1000 training samples, 5000
# test samples, Adam lr 3e-3, batch 500), next to an unconstrained MLP of the
# same widths trained the same way. Prints test MSE per task and model.
#   bench/fww21.sh [EPOCHS] [OUTDIR] [TASKS]    (TASKS: "o5 inertia lorentz" by default)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-500}
out=${2:-.build/fww21}
tasks=${3:-o5 inertia lorentz}
mkdir -p "$out"
swift build -c release --product eqnnc >/dev/null
eqnnc=.build/release/eqnnc
printf '%-8s %-26s %10s %10s %12s %10s\n' task model parameters epochs "test MSE" seconds
for task in $tasks; do
  "$eqnnc" data "$task" --samples 1000 --seed 1 --x "$out/$task.train.x.npy" --y "$out/$task.train.y.npy" >/dev/null
  "$eqnnc" data "$task" --samples 5000 --seed 2 --x "$out/$task.test.x.npy" --y "$out/$task.test.y.npy" >/dev/null
  for model in "$task" "${task}_mlp"; do
    file=examples/fww21/$model.eqnn
    start=$(date +%s.%N)
    "$eqnnc" train "$file" --x "$out/$task.train.x.npy" --y "$out/$task.train.y.npy" \
      --epochs "$epochs" --batch 500 --lr 3e-3 --seed 0 -o "$out/$model.safetensors" 2>"$out/$model.log" >/dev/null
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    mse=$("$eqnnc" evaluate "$file" --weights "$out/$model.safetensors" --x "$out/$task.test.x.npy" --y "$out/$task.test.y.npy" | awk '{print $2}')
    params=$("$eqnnc" check "$file" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["networks"][0]["parameters"])')
    printf '%-8s %-26s %10s %10s %12s %10.1f\n' "$task" "$model" "$params" "$epochs" "$mse" "$seconds"
  done
done
