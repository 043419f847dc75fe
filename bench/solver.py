#!/usr/bin/env python3
"""Times eqnnc's exact solver on the benchmark cases, next to emlp when available.

    python3 bench/solver.py [--emlp VENV] [--repeat N]

Every figure is measured in this run. eqnnc is timed as a whole process
(`eqnnc hom ...`, best of N), and the same process on a trivial case
(Hom_C(1)(Scalar, Scalar)) is reported as the startup baseline, so the solve
time is the difference. emlp runs in its own process via the peer's solve.py
and reports its solve time in-process (first call, then with its cache
cleared). Ratios are emlp seconds / eqnnc seconds.
"""
import argparse, json, os, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EQNNC = os.path.join(ROOT, ".build", "release", "eqnnc")
PEER = os.path.join(ROOT, "..", "shared", "peers", "emlp", "solve.py")

# (eqnnc group, from, to, emlp group, emlp from, emlp to)
CASES = [
    ("SO(3)", "V^3", "V^3", "SO(3)", "V**3", "V**3"),
    ("O(3)", "V^4", "V^4", "O(3)", "V**4", "V**4"),
    ("O(3)", "100*Scalar + 50*V + 20*V^2", "100*Scalar + 50*V + 20*V^2",
     "O(3)", "100*Scalar + 50*V + 20*V**2", "100*Scalar + 50*V + 20*V**2"),
    ("S(8)", "V^2", "V^2", "S(8)", "V**2", "V**2"),
    ("S(5) x O(3)", "V(S(5))*V(O(3))", "V(O(3))", "S(5)xO(3)", "V(S(5))*V(O(3))", "V(O(3))"),
    ("SO(1,3)", "V^2", "V^2", "SO13p()", "V**2", "V**2"),
    ("O(1,3)", "V^3", "V^3", "Lorentz()", "V**3", "V**3"),
    ("Sp(4)", "V^2", "V^2", "Sp(2)", "V**2", "V**2"),
    ("C(64)", "8*V", "8*V", "Z(64)", "8*V", "8*V"),
    ("S(16)", "V^3", "V^2", None, None, None),
    ("SO(5)", "V^3", "V^3", None, None, None),
]


def best_time(cmd, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        best = min(best, time.perf_counter() - t)
        out = proc
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emlp", help="venv of the peer emlp (from shared/peers/emlp/setup.sh)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--emlp-timeout", type=float, default=300)
    args = ap.parse_args()
    if not os.path.exists(EQNNC):
        sys.exit("build first: swift build -c release")

    startup, _ = best_time([EQNNC, "hom", "C(1)", "Scalar", "Scalar"], args.repeat)
    print(f"eqnnc process startup (Hom_C(1)(Scalar, Scalar)): {startup * 1000:.1f} ms\n")
    header = f"{'case':58} {'dim':>6} {'eqnnc ms':>9} {'solve ms':>9} {'emlp s':>9} {'emlp/eqnnc':>11}"
    print(header)
    print("-" * len(header))
    for g, a, b, eg, ea, eb in CASES:
        seconds, proc = best_time([EQNNC, "hom", g, a, b, "--format", "json"], args.repeat)
        if proc.returncode != 0:
            print(f"{g} {a} -> {b}: eqnnc failed: {proc.stderr.strip()}")
            continue
        dim = json.loads(proc.stdout)["dim"]
        solve = max(seconds - startup, 0.0)
        emlp_s, ratio, note = "", "", ""
        if args.emlp and eg:
            try:
                p = subprocess.run([os.path.join(args.emlp, "bin", "python"), PEER, eg, ea, eb],
                                   capture_output=True, text=True, timeout=args.emlp_timeout,
                                   cwd=os.path.dirname(PEER))
                line = [l for l in p.stdout.splitlines() if l.startswith("{")]
                if line:
                    r = json.loads(line[-1])
                    emlp_s = f"{r['cache_cleared_s']:.3f}"
                    ratio = f"{r['cache_cleared_s'] / seconds:.0f}x"
                    if r["dim"] != dim:
                        note = f"  (emlp dim {r['dim']})"
                else:
                    emlp_s = "failed"
            except subprocess.TimeoutExpired:
                emlp_s = f">{args.emlp_timeout:.0f}"
        case = f"{g}: {a} -> {b}"
        print(f"{case[:58]:58} {dim:>6} {seconds * 1000:>9.1f} {solve * 1000:>9.1f} {emlp_s:>9} {ratio:>11}{note}")

    print("\nchecking every example (whole process, best of N):")
    for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        if name.endswith(".eqnn"):
            seconds, proc = best_time([EQNNC, os.path.join(ROOT, "examples", name)], args.repeat)
            print(f"  {name:28} {seconds * 1000:7.1f} ms  exit {proc.returncode}")


if __name__ == "__main__":
    main()
