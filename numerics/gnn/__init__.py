"""Graph neural networks and interactions between vertices: walk indices, WIS, product GNNs.

Source: Razin, Verbin, Cohen, "On the ability of graph neural networks to model interactions between
vertices", NeurIPS 2023, arXiv 2211.16494. One subject per module, every public name re-exported
here (``from rankcheck.numerics import gnn; gnn.walk_index(...)``):

``graphs``
    ``edge_index`` validation (arrays, torch tensors, ``torch_geometric.data.Data``), Â = A + I.
``walks``
    walk indices WI_{L−1}(I) of partitions and of single vertices, exact.
``sparsification``
    (L−1)-WIS, 1-WIS and the removal baselines (random, degree, spectral).
``product``
    product-aggregation GNNs, grid tensors, exact ranks over F_p.
``tasks``
    generated vertex tasks that need 1-hop or 2-hop interactions, and a GCN trained on them.
``datasets``
    real graphs: PyTorch Geometric dataset folders read offline, graphs bundled with the packages.
``classify``
    GCN, GIN and ResGCN vertex classifiers with the paper's split and early stopping.
"""

from rankcheck.numerics.gnn import classify, datasets, graphs, product, sparsification, tasks, walks
from rankcheck.numerics.gnn.classify import *  # noqa: F403
from rankcheck.numerics.gnn.datasets import *  # noqa: F403
from rankcheck.numerics.gnn.graphs import *  # noqa: F403
from rankcheck.numerics.gnn.product import *  # noqa: F403
from rankcheck.numerics.gnn.sparsification import *  # noqa: F403
from rankcheck.numerics.gnn.tasks import *  # noqa: F403
from rankcheck.numerics.gnn.walks import *  # noqa: F403

__all__ = [
    *graphs.__all__, *walks.__all__, *sparsification.__all__, *product.__all__, *tasks.__all__,
    *datasets.__all__, *classify.__all__,
]
