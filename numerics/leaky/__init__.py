"""Leaky ResNets: representation geodesics, Hamilton's equations, training with layer steps.

Source: Jacot, Kaiser, *Hamiltonian mechanics of feature learning: bottleneck structure in Leaky
ResNets*, arXiv 2405.17573; the derivations are in ``rankcheck.theory.leaky``. One subject per
module, every public name re-exported here (``from rankcheck.numerics import leaky``):

``geodesics``
    the cost of identity, the discrete action of a path and the paths that minimize it.
``hamilton``
    Hamilton's field, shooting, and the geodesic as a boundary-value problem.
``training``
    Leaky ResNets trained with weight decay, uniform, adaptive or irregular layer steps.
``teacher``
    the regression task of the paper's Fig. 2a: a composition of random ResNets with a bottleneck.
"""

from rankcheck.numerics.leaky import geodesics, hamilton, teacher, training
from rankcheck.numerics.leaky.geodesics import *  # noqa: F403
from rankcheck.numerics.leaky.hamilton import *  # noqa: F403
from rankcheck.numerics.leaky.teacher import *  # noqa: F403
from rankcheck.numerics.leaky.training import *  # noqa: F403

__all__ = [*geodesics.__all__, *hamilton.__all__, *teacher.__all__, *training.__all__]
