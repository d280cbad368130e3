"""Inputs for the example jobs, as functions and as a command that writes them to stdout.

    python examples/jobs/make_input.py hashchain 100000 "my seed" > hashchain.in
    python examples/jobs/make_input.py sieve 1000000 > sieve.in
    python examples/jobs/make_input.py matmul 64 --seed 7 > matmul.in   (two random 64x64 matrices)
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
from collections.abc import Sequence


def hashchain_input(steps: int, seed: bytes) -> bytes:
    """hashchain: the step count N (u64 LE), then the seed."""
    return struct.pack("<Q", steps) + seed


def sieve_input(limit: int) -> bytes:
    """sieve: the limit L (u32 LE); the job counts the primes below it (L <= 10,000,000)."""
    return struct.pack("<I", limit)


def matmul_input(n: int, a: Sequence[int], b: Sequence[int]) -> bytes:
    """matmul: n (u32 LE), then A and B, n*n i32 LE each, row-major."""
    if len(a) != n * n or len(b) != n * n:
        raise ValueError(f"matrices of {n}x{n} have {n * n} entries, not {len(a)} and {len(b)}")
    return struct.pack(f"<I{2 * n * n}i", n, *a, *b)


def random_matmul_input(n: int, seed: int = 0) -> bytes:
    """matmul on two random n x n matrices over the whole i32 range (so the products wrap)."""
    rng = random.Random(seed)
    entries = [rng.randint(-2**31, 2**31 - 1) for _ in range(2 * n * n)]
    return matmul_input(n, entries[:n * n], entries[n * n:])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write an example job's input to stdout.")
    jobs = parser.add_subparsers(dest="job", required=True)
    hashchain = jobs.add_parser("hashchain", help="N, then the seed")
    hashchain.add_argument("steps", type=int)
    hashchain.add_argument("seed", help="the seed, as text (UTF-8)")
    sieve = jobs.add_parser("sieve", help="the limit L")
    sieve.add_argument("limit", type=int)
    matmul = jobs.add_parser("matmul", help="n, then two random n x n matrices")
    matmul.add_argument("n", type=int)
    matmul.add_argument("--seed", type=int, default=0, help="seed of the random matrices")
    args = parser.parse_args(argv)
    if args.job == "hashchain":
        data = hashchain_input(args.steps, args.seed.encode())
    elif args.job == "sieve":
        data = sieve_input(args.limit)
    else:
        data = random_matmul_input(args.n, args.seed)
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
