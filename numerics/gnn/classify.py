"""Vertex classification on a real graph: GCN, GIN and ResGCN trained with early stopping.

The protocol of the WIS experiments of Razin, Verbin, Cohen (arXiv 2211.16494, and the authors'
code noamrazin/gnn_interactions): a random 80/10/10 split of the vertices, width 64, full-batch Adam
(lr 10⁻³, no weight decay), layer norm after each hidden layer, up to 10 000 epochs, stopped when the
validation accuracy has not improved for ``patience`` epochs; the score is the test accuracy at the
epoch of the best validation accuracy. GCN and GIN have depth 3, ResGCN depth 10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.gnn.graphs import check_edge_index
from rankcheck.numerics.optim import finite_loss
from rankcheck.validation import as_device, as_seed, nonnegative_float, positive_int

__all__ = ["MODELS", "Split", "random_split", "VertexClassifier", "train_vertex_classifier"]

#: The models and their depth in the paper's experiments.
MODELS = {"gcn": 3, "gin": 3, "resgcn": 10}


@dataclass(frozen=True)
class Split:
    """Vertex ids of the training, validation and test sets.

    Attributes
    ----------
    train, validation, test : ndarray of int64
        Disjoint, together every vertex.
    """

    train: NDArray[np.int64]
    validation: NDArray[np.int64]
    test: NDArray[np.int64]


def random_split(num_nodes: int, seed: int, fractions: tuple[float, float] = (0.8, 0.1)) -> Split:
    """A random split of the vertices: ``fractions`` for training and validation, the rest test.

    Parameters
    ----------
    num_nodes : int
    seed : int
    fractions : (float, float), default (0.8, 0.1)

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        When the fractions leave a set empty.
    """
    n = positive_int(num_nodes, "num_nodes")
    order = np.random.default_rng(as_seed(seed)).permutation(n)
    first = round(fractions[0] * n)
    second = first + round(fractions[1] * n)
    if not 0 < first < second < n:
        raise ValueError(f"fractions {fractions} leave an empty set of {n} vertices")
    return Split(train=order[:first], validation=order[first:second], test=order[second:])


class VertexClassifier(torch.nn.Module):
    """GCN, GIN or ResGCN of a given depth and width (torch_geometric's ``GCNConv``, ``GINConv``).

    Parameters
    ----------
    model : {"gcn", "gin", "resgcn"}
    features, classes, width : int
    depth : int, optional
        Default ``MODELS[model]``. ResGCN: an input projection, ``depth`` residual GCN layers
        h ← h + relu(LN(conv(h))), a linear read-out; GCN and GIN: ``depth`` convolutions, layer
        norm and ReLU between them.
    """

    def __init__(self, model: str, features: int, classes: int, width: int, depth: int | None = None
                 ) -> None:
        from torch_geometric.nn import GCNConv, GINConv

        super().__init__()
        if model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
        self.model = model
        depth = positive_int(MODELS[model] if depth is None else depth, "depth")
        width = positive_int(width, "width")

        def conv(a: int, b: int) -> torch.nn.Module:
            if model == "gin":
                inner = torch.nn.Sequential(torch.nn.Linear(a, b), torch.nn.ReLU(), torch.nn.Linear(b, b))
                return GINConv(inner)
            return GCNConv(a, b)

        if model == "resgcn":
            self.project = torch.nn.Linear(features, width)
            sizes = [width] * (depth + 1)
            self.readout = torch.nn.Linear(width, classes)
        else:
            sizes = [features, *[width] * (depth - 1), classes]
        self.convs = torch.nn.ModuleList([conv(a, b) for a, b in zip(sizes, sizes[1:], strict=False)])
        hidden = len(self.convs) if model == "resgcn" else len(self.convs) - 1
        self.norms = torch.nn.ModuleList([torch.nn.LayerNorm(width) for _ in range(hidden)])

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Class logits, shape (n, classes)."""
        if self.model == "resgcn":
            h = self.project(x)
            for conv, norm in zip(self.convs, self.norms, strict=True):
                h = h + torch.relu(norm(conv(h, edge_index)))
            return self.readout(h)
        h = x
        for k, conv in enumerate(self.convs):
            h = conv(h, edge_index)
            if k < len(self.norms):
                h = torch.relu(self.norms[k](h))
        return h


def train_vertex_classifier(data, edge_index: ArrayLike, split: Split, model: str = "gcn", *,
                            width: int = 64, depth: int | None = None, lr: float = 1e-3,
                            epochs: int = 10_000, patience: int = 1_000, seed: int = 0,
                            device: str | torch.device = "cpu") -> dict:
    """Train a vertex classifier on ``data``'s features and labels over the graph ``edge_index``.

    Parameters
    ----------
    data : torch_geometric.data.Data
        ``x`` (n, f) and ``y`` (n,) class ids.
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
        The graph the network sees (``data``'s, or what a sparsification kept of it).
    split : Split
    model : {"gcn", "gin", "resgcn"}, default "gcn"
    width : int, default 64
    depth : int, optional
        Default ``MODELS[model]``.
    lr : float, default 1e-3
    epochs : int, default 10 000
    patience : int, default 1 000
        Epochs without a better validation accuracy before stopping.
    seed : int, default 0
        The initialization.
    device : str or torch.device, default "cpu"

    Returns
    -------
    dict
        ``test_accuracy`` and ``validation_accuracy`` at the best validation epoch, ``best_epoch``,
        ``epochs`` run.

    Raises
    ------
    ValueError
        Naming the argument: an unknown model, bad sizes, a graph that does not fit ``data``.
    NotConvergedError
        When the loss becomes non-finite.
    """
    where = as_device(device)
    n = int(data.y.shape[0])
    graph, _ = check_edge_index(edge_index, n)
    lr = nonnegative_float(lr, "lr", positive=True)
    epochs, patience = positive_int(epochs, "epochs"), positive_int(patience, "patience")
    torch.manual_seed(as_seed(seed))
    classes = int(data.y.max()) + 1
    net = VertexClassifier(model, int(data.x.shape[1]), classes, width, depth).to(where)
    x = data.x.to(dtype=torch.float32, device=where)
    y = data.y.to(device=where)
    edges = torch.as_tensor(graph, device=where)
    train, validation, test = (torch.as_tensor(part, device=where)
                               for part in (split.train, split.validation, split.test))
    adam = torch.optim.Adam(net.parameters(), lr=lr)
    best = (-1.0, 0.0, 0)
    epoch = 0
    for epoch in range(epochs):
        net.train()
        adam.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x, edges)[train], y[train])
        finite_loss(loss, "train_vertex_classifier", epoch).backward()
        adam.step()
        net.eval()
        with torch.no_grad():
            predicted = net(x, edges).argmax(1)
        accuracy = [float((predicted[part] == y[part]).float().mean()) for part in (validation, test)]
        if accuracy[0] > best[0]:
            best = (accuracy[0], accuracy[1], epoch)
        elif epoch - best[2] >= patience:
            break
    return {"validation_accuracy": best[0], "test_accuracy": best[1], "best_epoch": best[2],
            "epochs": epoch + 1}
