"""``make bench``: timings as ratios against a stated baseline measured in the same run.

* DLN: the augmented-Lagrangian solver for R(A; L) against the closed form (baseline), 6×6 rank 3.
* Dynamics: gradient flow of a 20×20 depth-4 network from a small random start to loss 1e-8,
  by the parameter-space ODE (baseline) and by plain torch GD at a stable step; the mixed-dynamics
  formula for a 20×20 target (an ODE in A alone, baseline) against the width-400 shallow network it
  describes, by its parameter ODE and by torch GD; the mixed formula at d = 200 by its exponential
  integrator and by DOP853 against the reference notebook's forward-Euler loop (baseline); the 2×2
  completion flow (depth 3) against GD.
* Spectra: the NNGP and NTK Gram matrices of a depth-5 ReLU net on 2 000 points of S⁹ by
  ``relu_ntk_gram`` against the per-layer arc-cosine recursion in numpy (baseline) and, when
  importable, neural-tangents' jit kernels; all μ_k, k <= 100, of the per-layer kernels of a
  depth-5 ReLU NTK in d = 10, 100, 1000, by the default method and by plain quadrature (baseline).
* Walks: 1-WIS removing half of a random graph with 10⁶ edges and the singleton walk indices at
  depth 3 on it; 1-WIS on 2·10⁴ edges against recomputing every key after each removal; exact 2-WIS
  at 10³ edges (mean degree 10) and 10⁴ edges (mean degree 4) against the authors' algorithm,
  which recomputes the walk indices of every candidate's graph at each step (baseline), same order.
* Tensor: GD steps per second of a rank-100 CP factorization of a 10×10×10×10 tensor (2 000 of its
  10⁴ entries observed) against the straightforward autograd trainer on the full tensor (baseline),
  unrecorded, with the default records and recording every step; and of a width-4 hierarchical
  factorization with 8 leaves (3⁸ entries), unrecorded and with the default records.
* Cone: ``caratheodory_reduce`` of a random layer with 10·N² neurons on N = 10, 20, 40 points
  (16,000 neurons at N = 40) against a plain HiGHS LP (baseline: ``scipy.optimize.linprog``,
  method "highs", zero objective, on the same generators; a vertex has at most rank non-zeros),
  capped at ``LP_LIMIT`` seconds.
* Bottleneck: one round (500 iterations) of ``train_mlp``'s L-BFGS on a depth-16 width-100 ReLU MLP
  with 200 points, against the same L-BFGS loop written bare in torch (baseline): the overhead.
* Sweeps: a 64-case sweep of a ≈0.2 s torch training on 1 and 2 process workers (baseline: serial),
  and the per-case overhead of the store and executor on a no-op case function.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from rankcheck.numerics import dln as solvers
from rankcheck.numerics.dln import chain_product
from rankcheck.proofs_checks.dln import training_case
from rankcheck.proofs_checks.sweep import ExecutorConfig, Sweep, grid, run_sweep
from rankcheck.strategies import MatrixCase, matrix_with_singular_values
from rankcheck.theory import dln as theory


def best_of(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved_best(functions: list, repeats: int = 5) -> list[float]:
    """Best time of each function over ``repeats`` rounds that run them in turn: a ratio between
    them then survives load that comes and goes on a shared machine."""
    best = [float("inf")] * len(functions)
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


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


def bench_linear_dynamics() -> None:
    import numpy as np

    from rankcheck.numerics.linear_dynamics import parameter_flow

    size, depth, sigma, tol = 20, 4, 0.5, 1e-8
    target = matrix_with_singular_values(size, size, tuple(np.linspace(2.0, 0.5, size)), seed=2)
    rng = np.random.default_rng(3)
    start = [sigma * rng.standard_normal((size, size)) / np.sqrt(size) for _ in range(depth)]

    begin = time.perf_counter()
    flow = parameter_flow(start, target, np.linspace(0, 270, 271))
    ode = time.perf_counter() - begin
    reached = np.flatnonzero(flow.losses <= tol)
    horizon = float(flow.times[reached[0]]) if reached.size else float("nan")

    lr = 0.5 / (depth * 2.0 ** (2 - 2 / depth))
    begin = time.perf_counter()
    steps = gd_to_tolerance(start, target, lr, tol)
    gd = time.perf_counter() - begin
    print(f"flow 20x20 L=4 to loss 1e-8 (t = {horizon:.0f}), DOP853  {ode:8.3f} s  1.00x "
          f"({flow.evaluations} gradient evaluations over t <= 270)")
    print(f"same by torch GD, lr {lr:.3f}, {steps} steps           {gd:8.3f} s  {gd / ode:.2f}x")
    bench_mixed(target)
    bench_mixed_against_euler()
    bench_completion()


def gd_to_tolerance(start, target, lr: float, tol: float) -> int:
    """Plain torch GD on ½‖W_L⋯W_1 − A*‖² until the loss is <= tol; returns the step count."""
    import torch

    weights = [torch.tensor(w, requires_grad=True) for w in start]
    goal = torch.as_tensor(target)
    steps = 0
    while True:
        loss = 0.5 * torch.sum((chain_product(weights) - goal) ** 2)
        if loss.item() <= tol or steps > 10**6:
            return steps
        grads = torch.autograd.grad(loss, weights)
        with torch.no_grad():
            for w, g in zip(weights, grads, strict=True):
                w -= lr * g
        steps += 1


def bench_mixed(target) -> None:
    import numpy as np

    from rankcheck.numerics.linear_dynamics import mixed_flow, parameter_flow

    width, tol = 400, 1e-8
    for c in (1.0, 0.05):  # mostly lazy; active (every singular value of A* above c)
        rng = np.random.default_rng(4)
        first = np.sqrt(c / width) * rng.standard_normal((width, 20))
        second = np.sqrt(c / width) * rng.standard_normal((20, width))
        lr = 0.25 / (2 * np.sqrt(4.0 + c**2) * (1 + np.sqrt(20 / width)) ** 2)
        begin = time.perf_counter()
        steps = gd_to_tolerance([first, second], target, lr, tol)
        gd = time.perf_counter() - begin
        times = np.linspace(0, steps * lr, 50)  # the time GD needed to reach the tolerance
        formula = best_of(lambda t=times, a=second @ first, c=c: mixed_flow(a, target, c, t),
                          repeats=1)
        flow = best_of(lambda t=times, w=(first, second): parameter_flow(list(w), target, t),
                       repeats=1)
        print(f"mixed formula 20x20, c = {c:g}, to t = {times[-1]:.1f}, DOP853  {formula:8.3f} s  1.00x")
        print(f"  width-400 net, parameter ODE, same t           {flow:8.3f} s  {flow / formula:.2f}x")
        print(f"  width-400 net, torch GD to 1e-8, {steps:5d} steps  {gd:8.3f} s  {gd / formula:.2f}x")


def bench_mixed_against_euler() -> None:
    """The notebook's setting (aranguri/phase-diagram, dynamics.ipynb) at d = 200: a rank-5 target
    C Dᵀ (entries of C, D N(0, k^{−1/2})) plus N(0, 1) noise, c = d^{0.4}, 100 forward-Euler steps
    of η = 1/(5‖A*‖₂) on the formula with its square roots by eigh (baseline); the exponential
    midpoint and DOP853 over the same horizon; errors against DOP853 at rtol 1e-12."""
    import numpy as np

    from rankcheck.numerics.linear_dynamics import mixed_flow, psd_sqrt

    d, k = 200, 5
    rng = np.random.default_rng(0)
    left, right = k**-0.25 * rng.normal(size=(2, d, k))
    target = left @ right.T + rng.normal(size=(d, d))
    c, start = d**0.4, 1e-3 * rng.normal(size=(d, d))
    eta = 1 / (5 * np.linalg.norm(target, 2))

    def euler():
        A, identity = start.copy(), np.eye(d)
        for _ in range(100):
            G = A - target
            A = A - eta * (psd_sqrt(A @ A.T + c**2 * identity) @ G + G @ psd_sqrt(A.T @ A + c**2 * identity))
        return A

    horizon = [0.0, 100 * eta]
    exact = mixed_flow(start, target, c, horizon, rtol=1e-12, atol=1e-14)[-1]

    def loss_error(A):
        return abs(np.sum((A - target) ** 2) / np.sum((exact - target) ** 2) - 1)

    baseline = best_of(euler, repeats=1)
    runs = {"exponential, 8 steps": lambda: mixed_flow(start, target, c, horizon, method="exponential",
                                                       max_step=horizon[1] / 8)[-1],
            "DOP853 rtol 1e-9": lambda: mixed_flow(start, target, c, horizon)[-1]}
    print(f"mixed dynamics d = {d}, k = {k}, c = {c:.1f}, to t = {horizon[1]:.3f}: Euler, 100 steps "
          f"{baseline:6.2f} s (1.00x), loss off by {100 * loss_error(euler()):.1f} %")
    for name, run in runs.items():
        seconds = best_of(run, repeats=1)
        print(f"  mixed_flow {name:22} {seconds:6.2f} s ({baseline / seconds:5.2f}x faster), loss off "
              f"by {100 * loss_error(run()):.2g} %")


def bench_completion() -> None:
    import numpy as np

    from rankcheck.numerics.not_norms import completion_flow, train_completion

    flow = best_of(lambda: completion_flow(3, 0.1, np.linspace(0, 100, 41)), repeats=1)
    gd = best_of(lambda: train_completion(3, 0.1, 10000, 0.01, record_every=250), repeats=1)
    print(f"2x2 completion L=3 to t = 100, DOP853            {flow:8.3f} s  1.00x")
    print(f"same by torch GD, lr 0.01, 10000 steps            {gd:8.3f} s  {gd / flow:.2f}x")


def neural_tangents_gram(points, depth: int, dtype: str):
    """A function timing neural-tangents' analytic kernels of the same network (jit) and returning
    its NTK, or None when not installed: Dense(W_std = 1), then depth − 1 times (Relu,
    Dense(W_std = √2)); its Dense divides by √fan-in, so the inputs are scaled by √d."""
    import numpy as np

    try:
        import jax
        from neural_tangents import stax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", dtype == "float64")
    layers = [stax.Dense(1, W_std=1.0)]
    for _ in range(depth - 1):
        layers += [stax.Relu(), stax.Dense(1, W_std=2**0.5)]
    _, _, kernel_fn = stax.serial(*layers)
    kernel = jax.jit(kernel_fn, static_argnames="get")
    inputs = jax.numpy.asarray(points, dtype=dtype) * points.shape[1] ** 0.5  # Dense divides by √d
    kernel(inputs, None, get=("nngp", "ntk"))  # compile
    return lambda: np.asarray(jax.block_until_ready(kernel(inputs, None, get=("nngp", "ntk")))[1])


def bench_spectra() -> None:
    import numpy as np

    from rankcheck.numerics import spectra
    from tests.test_spectra import textbook_relu_kernels  # the per-layer recursion (baseline)

    points = np.random.default_rng(0).normal(size=(2000, 10))
    points /= np.linalg.norm(points, axis=1, keepdims=True)  # 2 000 points of S⁹
    plain = best_of(lambda: textbook_relu_kernels(points, 5), repeats=2)
    ours = best_of(lambda: spectra.relu_ntk_gram(points, 5))
    ntk = spectra.relu_ntk_gram(points, 5)[1]
    error = np.abs(ntk - textbook_relu_kernels(points, 5)[1]).max()
    print(f"NNGP + NTK Gram, 2000 points of S^9, depth 5: per-layer recursion {plain:6.3f} s (1.00x), "
          f"relu_ntk_gram {ours:6.3f} s ({plain / ours:.1f}x faster; max |ΔΘ| {error:.0e})")
    for dtype in ("float32", "float64"):
        reference = neural_tangents_gram(points, 5, dtype)
        if reference is None:
            print("  neural-tangents not installed: its jit kernel is not timed")
            break
        seconds = best_of(reference)
        gap = np.abs(reference() - ntk).max()
        print(f"  neural-tangents jit {dtype}             {seconds:6.3f} s ({seconds / ours:.2f}x "
              f"relu_ntk_gram's time; max |ΔΘ| {gap:.0e})")
    for dim in (10, 100, 1000):
        for layer in spectra.relu_ntk_layer_kernels(5):  # warm the caches (quadrature rules, c(d, k, j))
            spectra.funk_hecke_eigenvalues(layer, dim, 100)
        # fresh kernels each time: their shared recursion is computed once per call, not reused
        default = best_of(lambda d=dim: [spectra.funk_hecke_eigenvalues(k, d, 100)
                                         for k in spectra.relu_ntk_layer_kernels(5)])
        plain = best_of(lambda d=dim: [spectra.funk_hecke_eigenvalues(k, d, 100, method="quadrature")
                                       for k in spectra.relu_ntk_layer_kernels(5)])
        method = "quadrature" if dim <= 10 else "series"
        print(f"μ_k, k <= 100, 5 layer kernels, d = {dim:<4} ({method:10}) {default * 1e3:8.1f} ms  "
              f"{default / plain:.2f}x quadrature ({plain * 1e3:.1f} ms)")


def random_edge_index(nodes: int, edges: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    ends = rng.integers(0, nodes, size=(int(edges * 1.1) + 10, 2))
    ends = ends[ends[:, 0] != ends[:, 1]]
    pairs = np.unique(np.sort(ends, axis=1), axis=0)[:edges]
    return np.concatenate([pairs.T, pairs.T[::-1]], axis=1)


def naive_one_wis(edge_index, count: int) -> None:
    """Recompute every edge's key with numpy after each removal: O(E) per removal."""
    import numpy as np

    pairs = edge_index[:, edge_index[0] < edge_index[1]].T
    alive = np.ones(len(pairs), dtype=bool)
    degree = np.bincount(edge_index[0])
    for _ in range(count):
        low = np.minimum(degree[pairs[:, 0]], degree[pairs[:, 1]])
        high = np.maximum(degree[pairs[:, 0]], degree[pairs[:, 1]])
        score = np.where(alive, low * (degree.max() + 1) + high, -1)
        best = int(np.argmax(score))
        alive[best] = False
        degree[pairs[best]] -= 1


def entry(matrix, row: int, col: int) -> int:
    """Position of the stored entry (row, col) in a CSR matrix with sorted indices."""
    import numpy as np

    start, stop = matrix.indptr[row], matrix.indptr[row + 1]
    return int(start + np.searchsorted(matrix.indices[start:stop], col))


def recompute_all_wis(edge_index, count: int, depth: int):
    """The authors' (L − 1)-WIS (Razin et al. 2023, Algorithm 1), written plainly on scipy.sparse:
    at each step, for every remaining edge e, diag(Â_e^L) of the graph without it (its two entries
    of Â zeroed in place; diag(H Â_e H) or diag(H H) with H = Â_e^⌊L/2⌋; isolated vertices 0),
    sorted; remove the edge whose sorted vector is lexicographically largest (ties: the smaller
    pair). Returns the removed pairs in order."""
    import numpy as np

    from rankcheck.numerics import gnn
    from rankcheck.numerics.gnn.graphs import adjacency

    nodes = int(edge_index.max()) + 1
    pairs = gnn.undirected_pairs(edge_index)
    alive = np.ones(len(pairs), dtype=bool)
    order = []
    for _ in range(count):
        kept = gnn.edge_index_of(pairs[alive])
        hat = adjacency(kept, nodes)
        hat.sort_indices()
        degree = np.bincount(kept[0], minlength=nodes)
        best, best_vector = None, None
        for index in np.flatnonzero(alive):
            a, b = pairs[index]
            graph = hat.copy()
            graph.data[[entry(graph, a, b), entry(graph, b, a)]] = 0
            half = graph
            for _ in range(depth // 2 - 1):
                half = half @ graph
            if depth == 1:
                diagonal = graph.diagonal()
            else:
                diagonal = np.asarray((half if depth % 2 == 0 else half @ graph).multiply(half)
                                      .sum(axis=1)).ravel()
            isolated = degree == 0
            isolated[[a, b]] = degree[[a, b]] == 1
            vector = np.sort(np.where(isolated, 0, diagonal))
            differ = np.flatnonzero(vector != best_vector) if best is not None else [0]
            if len(differ) and (best is None or vector[differ[0]] > best_vector[differ[0]]):
                best, best_vector = index, vector
        alive[best] = False
        order.append(pairs[best].tolist())
    return order


def bench_gnn() -> None:
    from rankcheck.numerics import gnn

    big = random_edge_index(200_000, 1_000_000, seed=0)
    one = best_of(lambda: gnn.one_wis(big, 500_000), repeats=1)
    single = best_of(lambda: gnn.singleton_walk_indices(big, 3), repeats=1)
    print(f"1-WIS, 10^6 edges, remove 50%                  {one:8.2f} s")
    print(f"singleton walk indices, depth 3, 10^6 edges    {single:8.2f} s")
    small = random_edge_index(4_000, 20_000, seed=1)
    naive = best_of(lambda: naive_one_wis(small, 10_000), repeats=1)
    fast = best_of(lambda: gnn.one_wis(small, 10_000), repeats=1)
    print(f"1-WIS 2·10^4 edges, remove 50%: naive {naive:6.2f} s (1.00x), buckets {fast:6.3f} s "
          f"({naive / fast:.0f}x faster)")
    for nodes, edges, steps in ((200, 1_000, 5), (5_000, 10_000, 1)):  # mean degree 10 and 4
        graph = random_edge_index(nodes, edges, seed=2)
        start = time.perf_counter()
        baseline = recompute_all_wis(graph, steps, 3)
        slow = time.perf_counter() - start
        fast = best_of(lambda g=graph, k=steps: gnn.wis(g, k, 3))
        same = gnn.wis(graph, steps, 3)[1].tolist() == baseline
        many = best_of(lambda g=graph: gnn.wis(g, 100, 3), repeats=1)
        print(f"exact 2-WIS {edges} edges, mean degree {2 * edges // nodes}, {steps} removal(s): "
              f"recompute all {slow:6.2f} s (1.00x), rank-2 updates {fast:6.3f} s "
              f"({slow / fast:.0f}x faster, same order: {same}); 100 removals {many:5.2f} s")
    medium = random_edge_index(2_000, 5_000, seed=3)
    chunked = best_of(lambda: gnn.wis(medium, 500, 3, chunk=100), repeats=1)
    print(f"2-WIS 5000 edges, chunks of 100, remove 500    {chunked:8.2f} s")


def bench_tensor() -> None:
    import numpy as np

    from rankcheck.numerics import tensor
    from rankcheck.numerics.threads import torch_threads
    from tests.test_tensor import autograd_cp_descent

    rng = np.random.default_rng(0)

    def observed(dims: tuple[int, ...], count: int):
        """``count`` distinct random positions of a tensor of shape ``dims`` and values for them."""
        flat = rng.choice(int(np.prod(dims)), size=count, replace=False)
        return rng.normal(size=count), np.array(np.unravel_index(flat, dims)).T

    steps = 2000
    dims = (10, 10, 10, 10)  # 10^4 entries, 2 000 observed, rank 100 (the setting)
    values, indices = observed(dims, 2000)

    def autograd() -> None:
        """The straightforward trainer (baseline): full tensor by einsum, autograd, one thread."""
        with torch_threads(1):
            autograd_cp_descent(values, indices, dims, 100, 1e-2, steps, 1e-3, seed=0)

    baseline = best_of(autograd, repeats=1)
    bare, default = interleaved_best([
        lambda: tensor.cp_completion(values, indices, dims, 100, 1e-2, steps, 1e-3, record_every=steps),
        lambda: tensor.cp_completion(values, indices, dims, 100, 1e-2, steps, 1e-3)])
    each = best_of(lambda: tensor.cp_completion(values, indices, dims, 100, 1e-2, steps, 1e-3,
                                                record_every=1), repeats=1)
    print(f"CP order 4, 10 per mode, rank 100, 2000 observed, {steps} steps: autograd trainer "
          f"{steps / baseline:6.0f} steps/s (1.00x); cp_completion {steps / bare:6.0f} steps/s "
          f"({baseline / bare:.1f}x faster) unrecorded, {steps / default:6.0f} with the default "
          f"records ({100 * (default / bare - 1):+.0f} %), {steps / each:6.0f} recording every step")
    steps = 500
    dims = (3,) * 8  # 6561 entries, a tenth observed
    values, indices = observed(dims, 656)
    bare, default = interleaved_best([
        lambda: tensor.htf_completion(values, indices, dims, 4, 0.1, steps, 0.01, record_every=steps),
        lambda: tensor.htf_completion(values, indices, dims, 4, 0.1, steps, 0.01)])
    print(f"HTF 8 leaves, 3^8 entries, width 4: {steps / bare:8.0f} GD steps/s unrecorded, "
          f"{steps / default:6.0f} with the default records ({100 * (default / bare - 1):+.0f} %)")


def bench_bottleneck() -> None:
    import numpy as np
    import torch

    from rankcheck.errors import NotConvergedError
    from rankcheck.numerics.bottleneck import relu_mlp, train_mlp

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 200)), rng.normal(size=(1, 200))
    depth, width, lam, rounds = 16, 100, 1e-3, 1  # one round = at most 500 L-BFGS iterations

    def trainer() -> None:
        try:
            train_mlp(X, Y, depth, width, lam, seed=0, rounds=rounds, gradient_tol=1e-30)
        except NotConvergedError:
            pass  # the round ran to its iteration cap, as the bare loop does

    def bare() -> None:
        generator = torch.Generator().manual_seed(0)
        dims = [10] + [width] * (depth - 1) + [1]
        weights = [(torch.randn(dims[k + 1], dims[k], generator=generator, dtype=torch.float64)
                    * np.sqrt(2.0 / dims[k])).requires_grad_(True) for k in range(depth)]
        inputs, targets = torch.from_numpy(X), torch.from_numpy(Y)
        optimizer = torch.optim.LBFGS(weights, lr=1.0, max_iter=500, tolerance_grad=1e-31,
                                      tolerance_change=1e-16, history_size=50, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            misfit = ((relu_mlp(inputs, weights) - targets) ** 2).sum()
            loss = 0.5 * misfit + lam * sum((w**2).sum() for w in weights)
            loss.backward()
            return loss

        optimizer.step(closure)
        closure()

    ours, baseline = best_of(trainer), best_of(bare)
    print(f"MLP depth {depth}, width {width}, 200 points, one L-BFGS round: train_mlp {ours:6.2f} s, "
          f"bare torch loop {baseline:6.2f} s, overhead {100 * (ours / baseline - 1):+5.1f} %")


LP_LIMIT = 600.0


def bench_cone() -> None:
    import numpy as np
    from scipy.optimize import linprog

    from rankcheck.numerics import cone

    for n in (10, 20, 40):
        width = 10 * n * n
        Z = np.random.default_rng(n).normal(size=(width, n))
        ours = best_of(lambda Z=Z: cone.caratheodory_reduce(Z), repeats=3 if n < 40 else 1)
        kept = cone.caratheodory_reduce(Z).kept.size
        G = cone.cone_generators(Z)
        start = time.perf_counter()
        lp = linprog(np.zeros(width), A_eq=G, b_eq=G.sum(axis=1), bounds=(0, None), method="highs",
                     options={"time_limit": LP_LIMIT})
        highs = time.perf_counter() - start
        finished = "" if lp.status == 0 else f" (stopped at the {LP_LIMIT:.0f} s limit: {lp.message})"
        print(f"Carathéodory N={n:<3} {width:6d} neurons -> {kept:5d}: {ours:7.2f} s; HiGHS LP "
              f"{highs:7.1f} s{finished}; ratio {highs / ours:6.0f}x")


#: one benchmark per family key (``make bench BENCH=gnn``), and the sweep executors
BENCHES = {"dln": bench_dln, "linear_dynamics": bench_linear_dynamics, "spectra": bench_spectra,
           "gnn": bench_gnn, "tensor": bench_tensor, "cone": bench_cone, "sweeps": bench_sweeps,
           "bottleneck": bench_bottleneck}


def main() -> None:
    unknown = set(sys.argv[1:]) - set(BENCHES)
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(BENCHES)}")
    for name in sys.argv[1:] or BENCHES:
        BENCHES[name]()


if __name__ == "__main__":
    main()
