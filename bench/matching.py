"""Matching engine benchmark: 100,000 open jobs against 10,000 providers.

    .venv/bin/python bench/matching.py [--jobs 100000] [--providers 10000] [--seed 1]

Builds random providers (8 regions, 4 GPU models or none, sizes from 4 to 64 cores) and jobs
(most name a region, a quarter need GPUs), indexes the providers once, then matches the jobs
one at a time through the engine (as a matchmaker following new jobs would), timing each
decision by the wall clock and by the process's CPU time (which other work on a shared
machine does not inflate). Every `--sample`th decision is also compared, untimed and before it is booked, with
every provider eligible at that moment (the engine asked for all its candidates): the price
placed over the cheapest eligible price, and the score over the best eligible score. Then the
same jobs as one batch, and small batches through the exact search. Prints a Markdown table.
Measures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time

from agora.market.states import ProviderStatus
from agora.market.terms import HourlyPrices, JobTerms, Resources, label
from agora.matching import MatchingEngine, MatchRules, OpenJob, ProviderState

TOKEN = 10**18
REGIONS = [label(r) for r in (
    "eu-west", "eu-north", "us-east", "us-west", "ap-south", "ap-east", "sa-east", "af-south",
)]
MODELS = [label(m) for m in ("A100", "H100", "L4", "T4")]


def providers(n: int, rng: random.Random) -> list[ProviderState]:
    out = []
    for i in range(n):
        cores = rng.choice((4, 8, 16, 32, 64))
        gpus = rng.choice((0, 0, 1, 2, 4, 8))
        out.append(ProviderState(
            address=f"0x{i + 1:040x}",
            status=ProviderStatus.ACTIVE,
            capacity=Resources(cores * 1000, cores * 4096, cores * 50, gpus, rng.choice(MODELS) if gpus else label(""),
                               rng.choice(REGIONS)),
            used=Resources(0, 0, 0, 0),
            prices=HourlyPrices(rng.randint(5, 50) * 10**7, rng.randint(1, 10) * 10**7, rng.randint(5, 300) * 10**8,
                                rng.randint(1, 10) * 10**5),
            stake=rng.randint(150, 5_000) * TOKEN,
            completed=rng.randint(0, 500), missed_deadlines=rng.randint(0, 5), lapsed_matches=rng.randint(0, 5),
            disputes_lost=rng.randint(0, 2),
        ))
    return out


def jobs(n: int, rng: random.Random, now: int) -> list[OpenJob]:
    out = []
    for i in range(n):
        gpus = rng.choice((0, 0, 0, 1, 2)) if rng.random() < 0.5 else 0
        resources = Resources(
            rng.choice((250, 500, 1000, 2000, 4000)), rng.choice((512, 1024, 4096, 8192)), rng.randint(0, 50), gpus,
            rng.choice(MODELS + [label("")]) if gpus else label(""),
            rng.choice(REGIONS) if rng.random() < 0.8 else label(""),
        )
        terms = JobTerms("0x" + "11" * 20, rng.randint(1, 200) * TOKEN, b"\x01" * 32, rng.randint(600, 4 * 3600),
                         now + 3600, i, resources)
        out.append(OpenJob(i.to_bytes(32, "big"), terms))
    return out


def every_candidate(engine: MatchingEngine, job: OpenJob) -> list:
    """All providers eligible for `job` on the engine's bookkeeping now (no candidate limit)."""
    limit, engine.max_candidates = engine.max_candidates, 10**9
    try:
        return engine.candidates(job)
    finally:
        engine.max_candidates = limit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--providers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", type=int, default=100, help="compare every Nth decision with all eligible")
    parser.add_argument("--batches", type=int, default=300, help="small batches through the exact search")
    parser.add_argument("--max-candidates", type=int, default=None, help="the engine's (default: its own)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now = 1_700_000_000
    rules = MatchRules(min_provider_stake=100 * TOKEN, collateral_ratio_bps=15_000, min_job_collateral=TOKEN, now=now)
    listed = providers(args.providers, rng)
    open_jobs = jobs(args.jobs, rng, now)
    # The index and the jobs live as long as the run: keep the cyclic collector from walking
    # them again and again (a long-running matchmaker would do the same after loading).
    options = {} if args.max_candidates is None else {"max_candidates": args.max_candidates}
    gc.collect()
    gc.freeze()

    started = time.perf_counter()
    engine = MatchingEngine(listed, rules, **options)
    index_seconds = time.perf_counter() - started

    latencies = []
    cpu_times = []  # the process's CPU time per decision: what the engine costs on a shared machine
    placed = 0
    price_ratios: list[float] = []
    score_ratios: list[float] = []
    clock, cpu_clock = time.perf_counter, time.process_time
    for n, job in enumerate(open_jobs):
        every = every_candidate(engine, job) if n % args.sample == 0 else None
        c0, t0 = cpu_clock(), clock()
        proposals = engine.match([job])
        latencies.append(clock() - t0)
        cpu_times.append(cpu_clock() - c0)
        placed += len(proposals)
        if every and proposals:
            cheapest = min(c[1] for c in every)
            price_ratios.append(proposals[0].price / cheapest if cheapest else 1.0)
            score_ratios.append(proposals[0].score / every[0][0])
    total = sum(latencies)

    # The same jobs as one batch on a fresh index (regret order; no local search at this size).
    engine = MatchingEngine(listed, rules, **options)
    started = time.perf_counter()
    batch_placed = len(engine.match(open_jobs))
    batch_total = time.perf_counter() - started

    # Small batches of 10 (exact search), each on a fresh copy of the market's state.
    batch_rng = random.Random(args.seed + 1)
    batch_ms = []
    nodes = []
    engine = MatchingEngine(listed, rules, **options)
    for _ in range(args.batches):
        batch = batch_rng.sample(open_jobs, 10)
        t0 = clock()
        proposals = engine.match(batch)
        batch_ms.append((clock() - t0) * 1000)
        nodes.append(engine.exact_nodes_used)

    q = statistics.quantiles(latencies, n=100)
    c = statistics.quantiles(cpu_times, n=100)
    print(f"{args.jobs:,} open jobs, {args.providers:,} providers, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| index {args.providers:,} providers | {index_seconds * 1000:,.0f} ms |")
    print(f"| jobs placed, one at a time | {placed:,} of {args.jobs:,} ({placed / args.jobs:.1%}) |")
    print(f"| placements per second, one at a time | {placed / total:,.0f} |")
    print(f"| decisions per second, one at a time | {args.jobs / total:,.0f} |")
    print(f"| decision latency p50 (per job) | {q[49] * 1000:.3f} ms |")
    print(f"| decision latency p99 (per job) | {q[98] * 1000:.3f} ms |")
    print(f"| decision latency max (per job) | {max(latencies) * 1000:.3f} ms |")
    print(f"| placements per CPU second, one at a time | {placed / sum(cpu_times):,.0f} |")
    print(f"| decision CPU time p50 / p99 / max | {c[49] * 1000:.3f} / {c[98] * 1000:.3f} / "
          f"{max(cpu_times) * 1000:.3f} ms |")
    if price_ratios:
        print(f"| placed price / cheapest eligible, mean ({len(price_ratios)} sampled) | "
              f"{statistics.fmean(price_ratios):.3f} |")
        print(f"| placed score / best eligible score, mean (min) | "
              f"{statistics.fmean(score_ratios):.4f} ({min(score_ratios):.4f}) |")
    print(f"| jobs placed, one batch of {args.jobs:,} | {batch_placed:,} ({batch_placed / args.jobs:.1%}) |")
    print(f"| placements per second, one batch | {batch_placed / batch_total:,.0f} |")
    if batch_ms:
        b = statistics.quantiles(batch_ms, n=100)
        print(f"| batch of 10 (exact search): p50 / p99 | {b[49]:.2f} ms / {b[98]:.2f} ms |")
        print(f"| batch of 10 (exact search): nodes mean / max | {statistics.fmean(nodes):,.0f} / {max(nodes):,} |")


if __name__ == "__main__":
    main()
