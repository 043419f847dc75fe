#!/usr/bin/env bash
# Builds eqnnc in release mode and times its solver; compares with emlp when
# a venv of it exists (create one with ../shared/peers/emlp/setup.sh VENV).
#   bench/solver.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product eqnnc >/dev/null
if [ $# -ge 1 ]; then
  python3 bench/solver.py --emlp "$1"
else
  python3 bench/solver.py
fi
