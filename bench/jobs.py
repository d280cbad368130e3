"""The example jobs in the sandbox: fuel and wall time per run, on this machine.

    .venv/bin/python bench/jobs.py [--repeat 5]

Compiles each example in examples/jobs from its WAT, runs it on a few inputs under limits
far above what it needs (as a provider agent would under a generous manifest), and prints a
Markdown table: the fuel each run used (the same on every machine) and the median wall time
of `--repeat` runs (this machine's). Measures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from agora.market.spec import Limits
from agora.sandbox import compile_wat, run_module

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "jobs"
sys.path.insert(0, str(EXAMPLES))  # make_input.py lives beside the examples, not in the package

from make_input import hashchain_input, random_matmul_input, sieve_input  # noqa: E402

GENEROUS = Limits(fuel=10**12, memory_bytes=256 * 2**20, output_bytes=16 * 2**20, wall_seconds=600.0)
CASES = [
    ("hashchain", "10,000 SHA-256 steps", hashchain_input(10_000, b"agora")),
    ("hashchain", "200,000 SHA-256 steps", hashchain_input(200_000, b"agora")),
    ("sieve", "primes below 2,000,000", sieve_input(2_000_000)),
    ("sieve", "primes below 10,000,000", sieve_input(10_000_000)),
    ("matmul", "64 x 64 i32", random_matmul_input(64, 1)),
    ("matmul", "128 x 128 i32", random_matmul_input(128, 1)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    modules = {name: compile_wat((EXAMPLES / f"{name}.wat").read_text()) for name, _, _ in CASES}
    print("| example | input | status | fuel | same fuel every run | wall time (median) |")
    print("|---|---|---|---:|---|---:|")
    for name, what, data in CASES:
        runs = [run_module(modules[name], data, GENEROUS) for _ in range(args.repeat)]
        same = "yes" if len({r.fuel_used for r in runs}) == 1 else "NO"
        seconds = statistics.median(r.wall_seconds for r in runs)
        print(f"| {name} | {what} | {runs[0].status} | {runs[0].fuel_used:,} | {same} | {seconds * 1000:,.1f} ms |",
              flush=True)


if __name__ == "__main__":
    main()
