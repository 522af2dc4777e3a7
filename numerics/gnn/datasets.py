"""Real graphs: PyTorch Geometric datasets read from a local folder, and graphs bundled with the
installed packages.

The WIS experiments of Razin, Verbin, Cohen (arXiv 2211.16494) run on Cora, DBLP, Chameleon,
Squirrel and Amazon Computers. This machine has no network, so nothing is ever downloaded: a dataset
is read from the ``processed/data.pt`` file PyTorch Geometric writes under its root the first time it
loads one (``Planetoid(root, "Cora")`` on a machine with network, then copy the folder), and a missing
file is an error naming the path. ``bundled_graph`` gives real graphs that ship inside
torch_geometric and networkx, for tests and for runs without a dataset folder.
"""

from __future__ import annotations

from pathlib import Path

from rankcheck.numerics.gnn.graphs import edge_index_of

__all__ = ["DATASETS", "dataset_path", "load_dataset", "available_datasets", "BUNDLED", "bundled_graph"]

#: Dataset name -> (PyTorch Geometric class, folder under the root, as that class lays it out).
DATASETS: dict[str, tuple[str, str]] = {
    "Cora": ("Planetoid", "Cora"),
    "CiteSeer": ("Planetoid", "CiteSeer"),
    "PubMed": ("Planetoid", "PubMed"),
    "DBLP": ("CitationFull", "dblp"),
    "Chameleon": ("WikipediaNetwork", "chameleon/geom_gcn"),
    "Squirrel": ("WikipediaNetwork", "squirrel/geom_gcn"),
    "Computers": ("Amazon", "computers"),
}


def dataset_path(root: str | Path, name: str) -> Path:
    """The processed file of dataset ``name`` under ``root``, where PyTorch Geometric stores it.

    Parameters
    ----------
    root : str or Path
    name : str
        A key of ``DATASETS``.

    Returns
    -------
    Path
        ``root/<folder>/processed/data.pt``.

    Raises
    ------
    ValueError
        For an unknown ``name``.
    """
    if name not in DATASETS:
        raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}")
    return Path(root) / DATASETS[name][1] / "processed" / "data.pt"


def load_dataset(root: str | Path, name: str):
    """Read dataset ``name`` from its PyTorch Geometric folder under ``root``; never downloads.

    Parameters
    ----------
    root : str or Path
    name : str
        A key of ``DATASETS``.

    Returns
    -------
    torch_geometric.data.Data
        The graph, with ``x``, ``y`` and ``edge_index``.

    Raises
    ------
    FileNotFoundError
        Naming the dataset and the path when its processed file is not there.
    ValueError
        For an unknown ``name``, or a file that holds no single graph with features and labels.
    """
    from torch_geometric.data import Data
    from torch_geometric.io import fs

    path = dataset_path(root, name)
    if not path.is_file():
        pyg_class = DATASETS[name][0]
        raise FileNotFoundError(
            f"dataset {name!r}: no {path}; create it where there is network with torch_geometric."
            f"datasets.{pyg_class}(root={str(root)!r}, ...) and copy the folder (nothing is downloaded here)")
    stored = fs.torch_load(str(path))
    fields = stored[0] if isinstance(stored, tuple) else stored
    data = Data.from_dict(fields) if isinstance(fields, dict) else fields
    if any(getattr(data, key, None) is None for key in ("x", "y", "edge_index")):
        raise ValueError(f"dataset {name!r}: {path} does not hold a graph with x, y and edge_index")
    if data.y.dim() != 1:
        raise ValueError(f"dataset {name!r}: labels must be one class per vertex, got shape "
                         f"{tuple(data.y.shape)}")
    return Data(x=data.x, y=data.y, edge_index=data.edge_index, num_nodes=data.x.shape[0])


def available_datasets(root: str | Path) -> list[str]:
    """The names of ``DATASETS`` whose processed file is under ``root``.

    Parameters
    ----------
    root : str or Path

    Returns
    -------
    list of str
        In the order of ``DATASETS``.

    Raises
    ------
    FileNotFoundError
        When ``root`` is not a folder.
    """
    if not Path(root).is_dir():
        raise FileNotFoundError(f"root {str(root)!r} is not a folder")
    return [name for name in DATASETS if dataset_path(root, name).is_file()]


#: The bundled graphs and how their vertex labels are defined.
BUNDLED = {
    "karate": "torch_geometric's KarateClub: 34 members, 4 classes (its modularity communities)",
    "les_miserables": "networkx's co-appearance graph of Les Misérables: 77 characters, labels their "
                      "greedy-modularity community (networkx, deterministic)",
    "davis_southern_women": "networkx's women–events graph: 32 vertices, labels the bipartite side "
                            "(woman or event)",
}


def bundled_graph(name: str):
    """A real graph shipped with an installed package, with one-hot vertex features (x = I).

    Parameters
    ----------
    name : str
        A key of ``BUNDLED``.

    Returns
    -------
    torch_geometric.data.Data
        ``x`` (n, n) float, ``y`` (n,) int64, ``edge_index`` (2, E) both directions.

    Raises
    ------
    ValueError
        For an unknown ``name``.
    """
    import networkx as nx
    import torch
    from torch_geometric.data import Data

    if name not in BUNDLED:
        raise ValueError(f"name must be one of {sorted(BUNDLED)}, got {name!r}")
    if name == "karate":
        from torch_geometric.datasets import KarateClub

        club = KarateClub()[0]
        return Data(x=club.x, y=club.y, edge_index=club.edge_index, num_nodes=club.num_nodes)
    graph = nx.les_miserables_graph() if name == "les_miserables" else nx.davis_southern_women_graph()
    index = {v: k for k, v in enumerate(graph)}
    if name == "les_miserables":
        communities = nx.community.greedy_modularity_communities(graph)
        labels = {v: k for k, part in enumerate(communities) for v in part}
    else:
        labels = dict(graph.nodes(data="bipartite"))
    edges = edge_index_of([(index[u], index[v]) for u, v in graph.edges()])
    n = graph.number_of_nodes()
    return Data(x=torch.eye(n, dtype=torch.float64), y=torch.as_tensor([labels[v] for v in graph]),
                edge_index=torch.as_tensor(edges), num_nodes=n)
