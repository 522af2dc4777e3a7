"""Compositionality: the F1 cost of shallow ReLU networks, compositional targets h∘g, the learners
and baselines trained on them, and the scaling-law fit of their test errors.

Source: Jacot, Choi, Wen, arXiv 2407.05664 (CLAIMS.md §8).

Shallow networks. A network is (a, W, b): outgoing weights a (m,), incoming weights W (m, d),
biases b (m,); f(x) = Σ_i a_i·relu(w_iᵀx + b_i).

Scaling laws. A ``CompositionTask`` is one draw of f* = h∘g on a fixed pool of points, with g the
quotient map of a rotation symmetry (block norms, smooth away from 0) and h a Matérn-ν_h Gaussian
process sample (Sobolev smoothness ν_h); the learners are trained on the first N points, their
weight decay picked on a validation block, and scored by the test mean squared error against the
noiseless f*. ``scaling_fit`` fits error ≈ C_seed·N^{−α} with one α shared by the seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize
from scipy.spatial.distance import cdist

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.networks import accordion, fit_adam, mlp
from rankcheck.validation import as_array, as_matrix, as_vector, nonnegative_float, positive_int

__all__ = [
    "shallow_relu", "parameter_cost", "path_cost", "rebalance", "least_rescaled_cost", "matern_kernel",
    "gaussian_process_sample", "block_norms", "CompositionTask", "random_fourier_series",
    "composition_task", "Predictor", "laplace_kernel_ridge", "ARCHITECTURES", "train_network",
    "mean_squared_error", "ScalingFit", "scaling_fit", "exponent_difference"
]


def _network(a: ArrayLike, W: ArrayLike, b: ArrayLike):
    outgoing, incoming, bias = as_vector(a, "a"), as_matrix(W, "W"), as_vector(b, "b")
    if incoming.shape[0] != outgoing.size or bias.size != outgoing.size:
        raise ValueError(f"a, W, b must describe the same neurons: got {outgoing.size}, "
                         f"{incoming.shape[0]} and {bias.size}")
    return outgoing, incoming, bias


def shallow_relu(a: ArrayLike, W: ArrayLike, b: ArrayLike, x: ArrayLike) -> NDArray[np.float64]:
    """f(x) = Σ_i a_i·relu(w_iᵀx + b_i) at the rows of x.

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.
    x : array_like, shape (n, d)

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ValueError
        Naming the argument: non-finite or mismatched arrays.
    """
    outgoing, incoming, bias = _network(a, W, b)
    points = as_matrix(x, "x")
    if points.shape[1] != incoming.shape[1]:
        raise ValueError(f"x must have {incoming.shape[1]} columns, got {points.shape[1]}")
    return np.maximum(points @ incoming.T + bias, 0.0) @ outgoing


def parameter_cost(a: ArrayLike, W: ArrayLike, b: ArrayLike) -> float:
    """‖θ‖² = Σ_i a_i² + ‖w_i‖² + b_i² of a shallow ReLU network.

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.

    Returns
    -------
    float
    """
    outgoing, incoming, bias = _network(a, W, b)
    return float(np.sum(outgoing**2) + np.sum(incoming**2) + np.sum(bias**2))


def path_cost(a: ArrayLike, W: ArrayLike, b: ArrayLike) -> float:
    """Σ_i |a_i|·‖(w_i, b_i)‖ of this representation (an upper bound on the F1 norm of f).

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.

    Returns
    -------
    float
    """
    outgoing, incoming, bias = _network(a, W, b)
    return float(np.sum(np.abs(outgoing) * np.sqrt(np.sum(incoming**2, axis=1) + bias**2)))


def rebalance(a: ArrayLike, W: ArrayLike, b: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """Rescale each neuron so that |a_i| = ‖(w_i, b_i)‖: the function is kept, ‖θ‖² becomes twice the
    path cost.

    c_i = √(|a_i|/‖(w_i, b_i)‖) multiplies (w_i, b_i) and divides a_i (ReLU is positively
    homogeneous); neurons with a_i = 0 or (w_i, b_i) = 0 compute nothing and are set to zero.

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.

    Returns
    -------
    (a, W, b) : tuple of ndarray, the shapes of the inputs
    """
    outgoing, incoming, bias = _network(a, W, b)
    norms = np.sqrt(np.sum(incoming**2, axis=1) + bias**2)
    alive = (outgoing != 0) & (norms > 0)
    scale = np.where(alive, np.sqrt(np.abs(outgoing) / np.where(alive, norms, 1.0)), 0.0)
    return (np.where(alive, outgoing / np.where(alive, scale, 1.0), 0.0), incoming * scale[:, None],
            bias * scale)


def least_rescaled_cost(a: ArrayLike, W: ArrayLike, b: ArrayLike) -> float:
    """min over c ∈ (0, ∞)^m of Σ_i a_i²/c_i² + c_i²‖(w_i, b_i)‖², by L-BFGS in log c.

    A second route to the rebalancing optimum, which knows nothing of AM–GM.

    Parameters
    ----------
    a : array_like, shape (m,)
        Output weights.
    W : array_like, shape (m, d)
        Input weights, one row per neuron.
    b : array_like, shape (m,)
        Biases.

    Returns
    -------
    float

    Raises
    ------
    NotConvergedError
        When L-BFGS fails.
    """
    outgoing, incoming, bias = _network(a, W, b)
    squares = np.sum(incoming**2, axis=1) + bias**2
    alive = (outgoing != 0) & (squares > 0)
    top, bottom = outgoing[alive] ** 2, squares[alive]

    def objective(log_scale: NDArray) -> tuple[float, NDArray]:
        up, down = np.exp(2 * log_scale) * bottom, np.exp(-2 * log_scale) * top
        return float(np.sum(up + down)), 2 * (up - down)

    start = 0.25 * np.log(top / bottom)
    result = minimize(objective, start + 0.5, jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-13, "ftol": 1e-15, "maxiter": 1000})
    if not result.success and result.nit >= 1000:
        raise NotConvergedError(f"least_rescaled_cost: {result.message}")
    return float(result.fun)


# --------------------------------------------------------------------------- compositional targets
def matern_kernel(distances: ArrayLike, nu: float, lengthscale: float = 1.0) -> NDArray[np.float64]:
    """Matérn correlation k(r) = 2^{1−ν}/Γ(ν)·(√(2ν)·r/ℓ)^ν·K_ν(√(2ν)·r/ℓ), k(0) = 1, elementwise.

    ν = ½ gives e^{−r/ℓ}; Gaussian-process samples on ℝ^d have Sobolev smoothness ν (they lie in H^s
    for every s < ν, locally).

    Parameters
    ----------
    distances : array_like, any shape
        r >= 0.
    nu : float
        ν > 0.
    lengthscale : float, default 1
        ℓ > 0.

    Returns
    -------
    ndarray, the shape of ``distances``

    Raises
    ------
    ValueError
        Naming the argument: negative or non-finite distances, non-positive ν or ℓ.
    """
    r = np.asarray(as_array(distances), dtype=np.float64)
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError("distances must be finite and >= 0")
    nu = nonnegative_float(nu, "nu", positive=True)
    scaled = np.sqrt(2 * nu) * r / nonnegative_float(lengthscale, "lengthscale", positive=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = 2 ** (1 - nu) / special.gamma(nu) * scaled**nu * special.kv(nu, scaled)
    return np.where(scaled == 0, 1.0, values)


def gaussian_process_sample(points: ArrayLike, nu: float, rng: np.random.Generator, *,
                            jitter: float = 1e-8) -> NDArray[np.float64]:
    """One joint sample of the centred Matérn-ν process (unit length scale and variance) at the points.

    By a Cholesky factor of K + jitter·I.

    Parameters
    ----------
    points : array_like, shape (n, d)
    nu : float
    rng : numpy.random.Generator
    jitter : float, default 1e-8

    Returns
    -------
    ndarray, shape (n,)
    """
    P = as_matrix(points, "points")
    K = matern_kernel(cdist(P, P), nu) + jitter * np.eye(P.shape[0])
    return np.linalg.cholesky(K) @ rng.standard_normal(P.shape[0])


def block_norms(X: ArrayLike, blocks: int) -> NDArray[np.float64]:
    """g(x) = (‖x_(1)‖, …, ‖x_(k)‖) for x split into k equal consecutive blocks.

    The quotient map of the rotations of each block, ℝ^{d_in} → ℝ^k.

    Parameters
    ----------
    X : array_like, shape (n, d_in)
    blocks : int
        k, dividing d_in.

    Returns
    -------
    ndarray, shape (n, k)

    Raises
    ------
    ValueError
        When ``blocks`` does not divide d_in.
    """
    points = as_matrix(X, "X")
    k = positive_int(blocks, "blocks")
    if points.shape[1] % k:
        raise ValueError(f"blocks must divide the input dimension {points.shape[1]}, got {k}")
    return np.linalg.norm(points.reshape(points.shape[0], k, -1), axis=2)


@dataclass(frozen=True)
class CompositionTask:
    """One draw of f* = h∘g on a pool of points, laid out as [training | validation | test].

    Attributes
    ----------
    inputs : ndarray, shape (n, d_in)
        X uniform in [−1, 1]^{d_in}.
    hidden : ndarray, shape (n, d_mid)
        g(X), standardized per coordinate.
    outputs : ndarray, shape (n,)
        f*(X).
    validation, test : int
        Sizes of the two blocks at the end of the pool.
    """

    inputs: NDArray[np.float64]
    hidden: NDArray[np.float64]
    outputs: NDArray[np.float64]
    validation: int
    test: int

    def train(self, n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The first ``n`` training points (nested: a larger N keeps the smaller N's points).

        Parameters
        ----------
        n : int
            At most the pool's training points.

        Returns
        -------
        X : ndarray, shape (n, d_in)
        y : ndarray, shape (n,)

        Raises
        ------
        ValueError
            When ``n`` exceeds the training points.
        """
        available = self.inputs.shape[0] - self.validation - self.test
        if not 1 <= n <= available:
            raise ValueError(f"n must be in [1, {available}] for this pool, got {n}")
        return self.inputs[:n], self.outputs[:n]

    def block(self, which: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The validation or the test block.

        Parameters
        ----------
        which : {"validation", "test"}

        Returns
        -------
        X : ndarray, shape (size, d_in)
        y : ndarray, shape (size,)

        Raises
        ------
        ValueError
            For another name.
        """
        end = self.inputs.shape[0]
        rows = {"test": slice(end - self.test, end),
                "validation": slice(end - self.test - self.validation, end - self.test)}
        if which not in rows:
            raise ValueError(f"which must be 'validation' or 'test', got {which!r}")
        return self.inputs[rows[which]], self.outputs[rows[which]]


def random_fourier_series(points: ArrayLike, nu: float, rng: np.random.Generator, *, period: float = 10.0,
                          knee: float = 1.0, terms: int = 8192) -> NDArray[np.float64]:
    """A random function of Sobolev smoothness ν: h(z) = Σ_k c_k·cos(ω_k·z + φ_k).

    ω_k = 2πk/``period`` over the integer vectors k with ‖k‖_∞ <= K whose first non-zero entry is
    positive (one of each ±k; ((2K + 1)^d − 1)/2 of them, (2K + 1)^d ≈ ``terms``), uniform phases
    φ_k, and fixed Matérn-like amplitudes c_k ∝ (1 + ‖ω_k‖²/knee²)^{−(ν + d/2)/2}, normalized so that
    Σ c_k²/2 = 1 (unit mean square). Σ ‖ω_k‖^{2s} c_k² < ∞ exactly when s < ν; with the amplitudes
    fixed, draws differ only in their phases, so every draw has the same spectrum.

    Parameters
    ----------
    points : array_like, shape (n, d)
    nu : float
        ν > 0.
    rng : numpy.random.Generator
        Draws the phases.
    period : float, default 10
    knee : float, default 1
    terms : int, default 8192

    Returns
    -------
    ndarray, shape (n,)
    """
    Z = as_matrix(points, "points")
    nu = nonnegative_float(nu, "nu", positive=True)
    d = Z.shape[1]
    K = max(1, int(round((positive_int(terms, "terms") ** (1 / d) - 1) / 2)))
    grid = np.stack(np.meshgrid(*[np.arange(-K, K + 1)] * d, indexing="ij"), axis=-1).reshape(-1, d)
    first = grid[np.arange(grid.shape[0]), np.argmax(grid != 0, axis=1)]
    grid = grid[first > 0]  # one of each pair ±k: distinct frequencies are orthogonal on a period
    omega = 2 * np.pi / nonnegative_float(period, "period", positive=True) * grid
    knee = nonnegative_float(knee, "knee", positive=True)
    amplitude = (1 + np.sum(omega**2, axis=1) / knee**2) ** (-(nu + d / 2) / 2)
    amplitude *= np.sqrt(2 / np.sum(amplitude**2))
    phases = rng.uniform(0.0, 2 * np.pi, size=amplitude.size)
    return np.cos(Z @ omega.T + phases) @ amplitude


def composition_task(d_in: int, d_mid: int, nu_h: float, n_train: int, *, nu_g: float | None = None,
                     validation: int = 512, test: int = 1024, seed: int = 0) -> CompositionTask:
    """A draw of f* = h∘g at n_train + validation + test points X uniform in [−1, 1]^{d_in}.

    g = ``block_norms(·, d_mid)`` (a symmetry quotient, smooth away from 0: ν_g = ∞) when ``nu_g``
    is None, else d_mid independent Matérn-``nu_g`` process samples on ℝ^{d_in}; g(X) is
    standardized per coordinate; h = ``random_fourier_series`` of smoothness ``nu_h`` on ℝ^{d_mid}.
    Deterministic in ``seed`` and the pool size: h's phases are drawn after the pool's points, so the
    same seed is another target at another pool size (notes/compositionality.md).

    Parameters
    ----------
    d_in, d_mid : int
    nu_h : float
    n_train : int
    nu_g : float, optional
    validation : int, default 512
    test : int, default 1024
    seed : int, default 0

    Returns
    -------
    CompositionTask

    Raises
    ------
    ValueError
        Naming the argument: non-positive sizes, ``d_mid`` not dividing ``d_in``
        when g is the block norm.
    """
    d_in, d_mid = positive_int(d_in, "d_in"), positive_int(d_mid, "d_mid")
    sizes = [positive_int(v, name) for v, name in ((n_train, "n_train"), (validation, "validation"),
                                                   (test, "test"))]
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(sum(sizes), d_in))
    if nu_g is None:
        Z = block_norms(X, d_mid)
    else:
        Z = np.column_stack([gaussian_process_sample(X, nu_g, rng) for _ in range(d_mid)])
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    return CompositionTask(inputs=X, hidden=Z, outputs=random_fourier_series(Z, nu_h, rng),
                           validation=sizes[1], test=sizes[2])


# --------------------------------------------------------------------------- learners
Predictor = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def laplace_kernel_ridge(X: ArrayLike, y: ArrayLike, lam: float) -> Predictor:
    """Kernel ridge regression with the Laplace kernel k(x, x') = exp(−‖x − x'‖).

    The predictor x ↦ k(x, X)·(K + λN·I)⁻¹y minimizing (1/N)Σ(f(x_i) − y_i)² + λ‖f‖²_k.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
    lam : float
        λ > 0.

    Returns
    -------
    callable
        (n, d) -> (n,).

    Raises
    ------
    ValueError
        Naming the argument: non-finite or mismatched data, λ <= 0.
    """
    points, targets = as_matrix(X, "X"), as_vector(y, "y")
    lam = nonnegative_float(lam, "lam", positive=True)

    def kernel(A: NDArray, B: NDArray) -> NDArray:
        return np.exp(-cdist(A, B))

    n = points.shape[0]
    weights = cho_solve(cho_factor(kernel(points, points) + lam * n * np.eye(n)), targets)
    return lambda new: kernel(as_matrix(new, "x"), points) @ weights


#: The networks the scaling-law sweeps train, by name: widths for a given input dimension.
ARCHITECTURES: dict[str, Callable[[int, int, int], torch.nn.Sequential]] = {
    "deep": lambda d_in, width, seed: mlp([d_in, width, width, width, 1], output_bias=True, seed=seed),
    "accordion": lambda d_in, width, seed: accordion([d_in, 8, 8, 1], 2 * width, seed=seed),
    "shallow": lambda d_in, width, seed: mlp([d_in, 4 * width, 1], output_bias=True, seed=seed),
}


def train_network(architecture: str, X: ArrayLike, y: ArrayLike, lam: float, *, width: int = 64,
                  steps: int = 2000, lr: float = 3e-3, seed: int = 0) -> Predictor:
    """Train one of ``ARCHITECTURES`` on L(θ) = (1/N)Σ(f(x_i) − y_i)² + λ‖θ‖² by ``fit_adam``.

    "deep": 3 hidden layers of ``width``; "accordion": two shallow networks of width 2·``width``
    through ℝ^8 and ℝ^8; "shallow": one hidden layer of 4·``width``.

    Parameters
    ----------
    architecture : {"deep", "accordion", "shallow"}
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
    lam : float
    width : int, default 64
    steps : int, default 2000
    lr : float, default 3e-3
    seed : int, default 0

    Returns
    -------
    callable
        The trained network's predictor, (n, d) -> (n,).

    Raises
    ------
    ValueError
        An unknown ``architecture``, or bad data.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {architecture!r}")
    points, targets = as_matrix(X, "X"), as_vector(y, "y")
    net = ARCHITECTURES[architecture](points.shape[1], positive_int(width, "width"), seed)
    fit_adam(net, points, targets[:, None], lam, steps=steps, lr=lr)

    def predict(new: NDArray[np.float64]) -> NDArray[np.float64]:
        with torch.no_grad():
            return net(torch.as_tensor(as_matrix(new, "x")))[:, 0].numpy()

    return predict


def mean_squared_error(predict: Predictor, X: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """(1/n)Σ(f(x_i) − y_i)² over the rows of X.

    Parameters
    ----------
    predict : callable (n, d) -> (n,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)

    Returns
    -------
    float
    """
    return float(np.mean((predict(X) - y) ** 2))


# --------------------------------------------------------------------------- scaling-law fit
@dataclass(frozen=True)
class ScalingFit:
    """A fitted scaling law error ≈ C_s·N^{−α}.

    Attributes
    ----------
    alpha : float
        The exponent α.
    stderr : float
        Its standard error.
    dof : int
        Residual degrees of freedom.
    band : (float, float)
        The Student-t band α ± t·se at the fit's level.
    """

    alpha: float
    stderr: float
    dof: int
    band: tuple[float, float]


def scaling_fit(n: ArrayLike, errors: ArrayLike, groups: ArrayLike, level: float = 0.9) -> ScalingFit:
    """Least squares of log(error) = c_group − α·log N: one exponent shared by the groups.

    One intercept per group (seeds, i.e. draws of the target), so the draws' different difficulty
    does not leak into α. The band is α ± t_{(1+level)/2, dof}·se with dof = points − groups − 1.

    Parameters
    ----------
    n : array_like, shape (k,)
    errors : array_like, shape (k,)
        > 0.
    groups : array_like, shape (k,)
    level : float, default 0.9

    Returns
    -------
    ScalingFit

    Raises
    ------
    ValueError
        Arrays of different lengths, non-positive values, fewer than two N or no residual degree
        of freedom.
    """
    sizes, values = as_vector(n, "n"), as_vector(errors, "errors")
    labels = np.asarray(as_array(groups))
    if not (sizes.size == values.size == labels.size):
        raise ValueError(f"n, errors and groups must have the same length, got {sizes.size}, "
                         f"{values.size} and {labels.size}")
    if np.any(sizes <= 0) or np.any(values <= 0):
        raise ValueError("n and errors must be > 0 (a log-log fit)")
    names, index = np.unique(labels, return_inverse=True)
    design = np.column_stack([-np.log(sizes), np.eye(names.size)[index]])
    dof = sizes.size - design.shape[1]
    if dof < 1 or np.unique(sizes).size < 2:
        raise ValueError(f"a scaling fit needs at least two N and more points than parameters, got "
                         f"{sizes.size} points for {design.shape[1]} parameters")
    coef, *_ = np.linalg.lstsq(design, np.log(values), rcond=None)
    residual = np.log(values) - design @ coef
    covariance = np.sum(residual**2) / dof * np.linalg.inv(design.T @ design)
    stderr = float(np.sqrt(covariance[0, 0]))
    half = float(stats.t.ppf((1 + level) / 2, dof)) * stderr
    return ScalingFit(alpha=float(coef[0]), stderr=stderr, dof=int(dof),
                      band=(float(coef[0]) - half, float(coef[0]) + half))


def exponent_difference(a: ScalingFit, b: ScalingFit, level: float = 0.9) -> tuple[float, float, float]:
    """α_a − α_b with its Student-t band.

    se = √(se_a² + se_b²) on min(dof_a, dof_b) degrees of freedom, as if the fits were independent:
    two learners on the same draws make their errors positively correlated, so this overstates the
    spread — a conservative band.

    Parameters
    ----------
    a, b : ScalingFit
    level : float, default 0.9

    Returns
    -------
    (difference, low, high) : tuple of float
    """
    gap = a.alpha - b.alpha
    half = float(stats.t.ppf((1 + level) / 2, min(a.dof, b.dof))) * float(np.hypot(a.stderr, b.stderr))
    return gap, gap - half, gap + half
