"""Compositionality: the F1 cost of shallow ReLU networks, compositional targets h∘g, the learners
and baselines trained on them, and the scaling-law fit of their test errors.

Source: Jacot, Choi, Wen, *How DNNs break the curse of dimensionality: compositionality and
symmetry learning*, arXiv 2407.05664. One subject per module, every public name re-exported here
(``from rankcheck.numerics import compositionality``):

``f1``
    shallow ReLU networks (a, W, b), their parameter and path costs, rebalancing.
``targets``
    Matérn kernels and joint Gaussian-process samples, ``composition_task`` (the authors' f* = h∘g).
``learners``
    deep, accordion and shallow networks, Laplace kernel ridge, the test error.
``scaling``
    error ≈ C_seed·N^{−α}: the shared exponent and its band, differences of exponents.

Scaling laws: the learners are trained on the first N training points of a task's pool (networks
by the authors' staged Adam schedule, the kernel's λ picked on a validation block) and scored by
the test mean squared error against the noiseless f*.
"""

from rankcheck.numerics.compositionality import f1, learners, scaling, targets
from rankcheck.numerics.compositionality.f1 import *  # noqa: F403
from rankcheck.numerics.compositionality.learners import *  # noqa: F403
from rankcheck.numerics.compositionality.scaling import *  # noqa: F403
from rankcheck.numerics.compositionality.targets import *  # noqa: F403

__all__ = [*f1.__all__, *targets.__all__, *learners.__all__, *scaling.__all__]
