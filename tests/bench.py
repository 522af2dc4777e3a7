"""``make bench``: timings as ratios against a stated baseline measured in the same run.

* DLN: the augmented-Lagrangian solver for R(A; L) against the closed form (baseline), 6×6 rank 3.
* Sweeps: a 64-case sweep of a ≈0.2 s torch training on 1 and 2 process workers (baseline: serial),
  and the per-case overhead of the store and executor on a no-op case function.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from numerics import dln as solvers
from proofs_checks.dln import training_case
from proofs_checks.strategies import MatrixCase, matrix_with_singular_values
from proofs_checks.sweep import ExecutorConfig, Sweep, grid, run_sweep
from theory import dln as theory


def best_of(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def noop_case(case: dict) -> dict:
    return {"x": case["x"]}


def timed_sweep(sweep: Sweep, config: ExecutorConfig) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_sweep(sweep, Path(folder) / "bench.sqlite", config, show_progress=False)
        return time.perf_counter() - start


def bench_dln() -> None:
    A = matrix_with_singular_values(6, 6, (2.5, 1.2, 0.4), seed=0)
    for depth in (3, 12):
        closed = best_of(lambda d=depth: theory.representation_cost(A, d), repeats=20)
        solver = best_of(lambda d=depth: solvers.representation_cost(A, d, restarts=1))
        print(f"dln solver 6x6 rank 3, L={depth:<3}             {solver:8.3f} s  "
              f"{solver / closed:9.0f}x the closed form ({closed * 1e6:.0f} µs)")
    Y = matrix_with_singular_values(4, 4, (2.0, 1.5, 0.02), seed=1)
    train = best_of(lambda: solvers.train_dln(Y, 3, 0.05), repeats=1)
    print(f"dln torch GD to grad norm 1e-10, 4x4 L=3  {train:8.3f} s")


def bench_sweeps() -> None:
    cases = [{**MatrixCase(4, 4, (2.0, 1.5, 1.0, 0.5), seed).params(), "depth": 3, "lam": 0.05,
              "max_steps": 400} for seed in range(64)]
    sweep = Sweep("bench.train", training_case, cases)
    one_case = best_of(lambda: training_case(cases[0]), repeats=3)
    serial = timed_sweep(sweep, ExecutorConfig("serial"))
    pool1 = timed_sweep(sweep, ExecutorConfig("processes", 1))
    pool2 = timed_sweep(sweep, ExecutorConfig("processes", 2))
    print(f"one training case                          {one_case:8.3f} s")
    print(f"64-case sweep, serial (baseline)           {serial:8.2f} s  1.00x")
    print(f"64-case sweep, 1 process worker            {pool1:8.2f} s  {serial / pool1:.2f}x")
    print(f"64-case sweep, 2 process workers           {pool2:8.2f} s  {serial / pool2:.2f}x")
    noop = Sweep("bench.noop", noop_case, grid(x=range(500)))
    for config in (ExecutorConfig("serial"), ExecutorConfig("processes", 2)):
        overhead = timed_sweep(noop, config) / 500
        print(f"per-case overhead, {config.kind:<9} ({config.jobs} job)      "
              f"{overhead * 1e3:8.2f} ms")


def main() -> None:
    which = sys.argv[1:] or ["dln", "sweeps"]
    if "dln" in which:
        bench_dln()
    if "sweeps" in which:
        bench_sweeps()


if __name__ == "__main__":
    main()
