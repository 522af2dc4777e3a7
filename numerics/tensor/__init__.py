"""Implicit rank minimization in tensor factorizations (Razin, Maman, Cohen 2021, 2022).

One subject per module, every public name re-exported here
(``from rankcheck.numerics import tensor; tensor.cp_completion(...)``):

``cp``
    CP factorization trained on tensor completion; component norms, alignments, ranks; the
    tensorly reference ``lowest_cp_rank`` and ``cp_fit_error`` (arXiv 2102.09972).
``hierarchical``
    hierarchical tensor factorization over a binary tree of modes, by GD and by gradient flow;
    local components and hierarchical ranks (arXiv 2201.11729).
``data``
    scikit-learn's digits encoded as entries of a high-order tensor.
``locality``
    a long-range "same class" task on a digits canvas, a small CNN and the input-gradient-change
    regularizer that counters locality (arXiv 2201.11729).
"""

from rankcheck.numerics.tensor import cp, data, hierarchical, locality
from rankcheck.numerics.tensor.cp import *  # noqa: F403
from rankcheck.numerics.tensor.data import *  # noqa: F403
from rankcheck.numerics.tensor.hierarchical import *  # noqa: F403
from rankcheck.numerics.tensor.locality import *  # noqa: F403

__all__ = [*cp.__all__, *hierarchical.__all__, *data.__all__, *locality.__all__]
