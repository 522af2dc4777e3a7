"""``make bench``: timings of the reference solvers, as ratios against a baseline in one run.

DLN: the augmented-Lagrangian solver for R(A; L) against evaluating the closed form (the baseline),
on a 6×6 rank-3 matrix at depths 3 and 12.
"""

from __future__ import annotations

import time

from numerics import dln as solvers
from proofs_checks.strategies import matrix_with_singular_values
from theory import dln as theory


def best_of(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    A = matrix_with_singular_values(6, 6, (2.5, 1.2, 0.4), seed=0)
    print("benchmark                                  seconds    ratio to closed form")
    for depth in (3, 12):
        closed = best_of(lambda d=depth: theory.representation_cost(A, d), repeats=20)
        solver = best_of(lambda d=depth: solvers.representation_cost(A, d, restarts=1))
        print(f"dln solver, 6x6 rank 3, depth {depth:<3}          {solver:8.3f}    {solver / closed:10.0f}x")
    Y = matrix_with_singular_values(4, 4, (2.0, 1.5, 0.02), seed=1)
    train = best_of(lambda: solvers.train_dln(Y, 3, 0.05), repeats=1)
    print(f"dln torch GD to grad norm 1e-10, 4x4 L=3   {train:8.3f}")


if __name__ == "__main__":
    main()
