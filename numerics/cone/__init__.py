"""The covariance cone of L2-regularized networks: covariances, Carathéodory reduction, shallow optimum.

Source: Jacot, Golikov, Hongler, Gabriel, "Feature learning in L2-regularized DNNs: attraction/
repulsion and sparsity", NeurIPS 2022, arXiv 2205.15809; the shallow convex program is Pilanci &
Ergen 2020 (arXiv 2002.10553). One subject per module, every public name re-exported here
(``from rankcheck.numerics import cone; cone.caratheodory_reduce(Z)``):

``covariances``
    the pairs (K̃_ℓ, K_ℓ) of a torch MLP, least-norm weights, the covariance form of the loss.
``caratheodory``
    the exact reduction of a layer (or of every hidden layer) to at most N(N+1) neurons.
``training``
    L2-regularized training to a stationary point.
``convex``
    the Pilanci–Ergen global optimum of a shallow ReLU network, certified by a dual point.

Conventions. Data X is (N, d), one training point per row (the torch convention; the paper's X is its
transpose). A layer's pre-activations are Z̃ (w, N), one row per neuron, post-activations Z = σ(Z̃);
K̃ = Z̃ᵀZ̃ and K = ZᵀZ are N×N. A linear layer with a bias acts on Z stacked with a row of ones, so its
input covariance is K + 11ᵀ (bias amount β = 1). The loss of an MLP f_θ is

    L(θ) = (1/N)·‖f_θ(X) − Y‖_F² + λ·‖θ‖²,       ‖θ‖² = Σ_ℓ ‖W_ℓ‖_F² + ‖b_ℓ‖²,

and at least-norm weights W_ℓ = Z̃_ℓ Z_{ℓ−1}⁺ it equals (1/N)‖Z̃_L − Y‖² + λ Σ_ℓ Tr[K̃_ℓ K_{ℓ−1}⁺].
The activation must be positively homogeneous (σ(cz) = cσ(z) for c > 0): only then do rescaled
neurons stay neurons and the pairs (K̃, K) form a cone.
"""

from rankcheck.numerics.cone import caratheodory, convex, covariances, training
from rankcheck.numerics.cone.caratheodory import *  # noqa: F403
from rankcheck.numerics.cone.convex import *  # noqa: F403
from rankcheck.numerics.cone.covariances import *  # noqa: F403
from rankcheck.numerics.cone.training import *  # noqa: F403
from rankcheck.numerics.networks import MODULES, mlp, regularized_loss

__all__ = [
    *covariances.__all__, *caratheodory.__all__, *training.__all__, *convex.__all__,
    "MODULES", "mlp", "regularized_loss",
]
