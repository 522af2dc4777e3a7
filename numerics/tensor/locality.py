"""Countering locality: a long-range task and the input-gradient-change regularizer.

The regularizer of Razin, Maman, Cohen 2022 (arXiv 2201.11729) on a scaled-down task: two
scikit-learn digits on one canvas, "same class?", a small CNN, and a penalty on the cosine of the
true-class logit's input gradients on one slot before and after the other slot is swapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from rankcheck.numerics.optim import finite_loss
from rankcheck.validation import as_device, as_seed, nonnegative_float, positive_int

__all__ = [
    "DIGIT", "TRAIN_DIGITS", "COUPLING_SAMPLES", "same_class_canvas", "locality_cnn", "Patch",
    "distant_patches", "digit_slots", "gradient_change_penalty", "SameClassRun", "train_same_class"
]

DIGIT = 8  # side of scikit-learn's digit images
TRAIN_DIGITS = 1000  # digit images reserved for training canvases; the other 797 build test canvases
COUPLING_SAMPLES = 500  # test canvases on which the final coupling (mean |cos|) is measured


def same_class_canvas(samples: int, width: int = 32, noise: float = 0.2, split: str = "train",
                      seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A task whose label needs a long-range interaction: are the two digits of a canvas the same class?

    An 8 × ``width`` canvas of uniform noise in [0, ``noise``] with one of scikit-learn's digits
    (intensities scaled to [0, 1]) at its left end and one at its right end; label 1 when the two
    digits are of the same class, 0 otherwise (balanced). Train and test canvases use disjoint digit
    images (a fixed split of the 1 797).

    Parameters
    ----------
    samples : int
    width : int, default 32
        Columns, >= 16.
    noise : float, default 0.2
        Upper end of the background noise, >= 0.
    split : {"train", "test"}, default "train"
    seed : int, default 0

    Returns
    -------
    images : torch.Tensor of float32, shape (samples, 1, 8, width)
    labels : torch.Tensor of int64, shape (samples,)

    Raises
    ------
    ValueError
        Naming the argument: ``samples`` < 1, ``width`` < 16, a negative ``noise``, an unknown
        ``split``.
    """
    from sklearn.datasets import load_digits

    samples = positive_int(samples, "samples")
    width = positive_int(width, "width", minimum=2 * DIGIT)
    noise = nonnegative_float(noise, "noise")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    chosen = order[:TRAIN_DIGITS] if split == "train" else order[TRAIN_DIGITS:]
    images, classes = digits.images[chosen] / 16.0, digits.target[chosen]
    rng = np.random.default_rng(as_seed(seed))
    same = rng.permutation(np.arange(samples) % 2)
    left = rng.integers(0, len(chosen), samples)
    right = np.array([rng.choice(np.flatnonzero((classes == classes[i]) == bool(s)))
                      for i, s in zip(left, same, strict=True)])
    canvas = rng.uniform(0.0, noise, (samples, 1, DIGIT, width))
    canvas[:, 0, :, :DIGIT], canvas[:, 0, :, -DIGIT:] = images[left], images[right]
    return torch.tensor(canvas, dtype=torch.float32), torch.tensor(same, dtype=torch.int64)


def locality_cnn(width: int, channels: int = 16) -> torch.nn.Sequential:
    """A CNN for 8 × ``width`` canvases whose receptive field reaches across the canvas.

    Blocks of 3×3 convolution + ReLU separated by max-pooling (2×2 twice, then 1×2) until the
    receptive field reaches ``width`` columns, global average pooling, a linear read-out to two
    logits. The poolings' alignment can leave the widest unit one edge column short (fields
    [0, W − 2] and [1, W − 1] at widths 32 and 64): a single unit still sees >= 7 of the 8 columns of
    each digit.

    Parameters
    ----------
    width : int
    channels : int, default 16

    Returns
    -------
    torch.nn.Sequential
        Input (B, 1, 8, width), output (B, 2).
    """
    width, channels = positive_int(width, "width"), positive_int(channels, "channels")
    layers: list[torch.nn.Module] = [torch.nn.Conv2d(1, channels, 3, padding=1), torch.nn.ReLU()]
    field, jump = 3, 1
    while field < width:
        layers += [torch.nn.MaxPool2d(2 if len(layers) < 6 else (1, 2)),
                   torch.nn.Conv2d(channels, channels, 3, padding=1), torch.nn.ReLU()]
        field, jump = field + jump + 2 * 2 * jump, 2 * jump
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(channels, 2))


Patch = tuple[int, int, int]  # (top row, left column, side)


def _check_distance(width: int, side: int, distance: int) -> None:
    if distance < side or width - side < distance:
        raise ValueError(f"distance must lie in [side, width − side] = [{side}, {width - side}], "
                         f"got {distance}")


def distant_patches(height: int, width: int, side: int, distance: int,
                    generator: torch.Generator) -> tuple[Patch, Patch]:
    """Two uniformly random square patches whose left columns are at least ``distance`` apart.

    Parameters
    ----------
    height, width : int
        The canvas.
    side : int
        The patches' side.
    distance : int
        In [side, width − side], so the patches never overlap.
    generator : torch.Generator

    Returns
    -------
    tuple of two (top row, left column, side)

    Raises
    ------
    ValueError
        When ``distance`` lies outside [side, width − side].
    """
    _check_distance(width, side, distance)
    while True:
        first, second = torch.randint(0, width - side + 1, (2,), generator=generator).tolist()
        if abs(first - second) >= distance:
            rows = torch.randint(0, height - side + 1, (2,), generator=generator).tolist()
            return (rows[0], first, side), (rows[1], second, side)


def digit_slots(width: int, generator: torch.Generator) -> tuple[Patch, Patch]:
    """The two digit slots of a ``same_class_canvas`` (8×8 at either end), in random order.

    The first is the patch whose input gradient the regularizer watches, the second the one it
    replaces — the pair the authors' is-same-class runs regularize.

    Parameters
    ----------
    width : int
        Columns of the canvas, >= 16.
    generator : torch.Generator

    Returns
    -------
    tuple of two (top row, left column, side)
    """
    left, right = (0, 0, DIGIT), (0, positive_int(width, "width", minimum=2 * DIGIT) - DIGIT, DIGIT)
    return (left, right) if torch.randint(0, 2, (1,), generator=generator).item() == 0 else (right, left)


def _cut(images: torch.Tensor, patch: Patch) -> torch.Tensor:
    row, col, side = patch
    return images[..., row:row + side, col:col + side]


def gradient_change_penalty(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                            first: Patch, second: Patch) -> tuple[torch.Tensor, torch.Tensor]:
    """The regularizer of Razin, Maman, Cohen (arXiv 2201.11729) that counters locality.

    With f_y the logit of each sample's true class and x' the sample with its ``second`` patch
    replaced by the next sample's (a cyclic shift of the batch),

        penalty = mean over the batch of |cos(∇_P f_y(x), ∇_P f_y(x'))|,   P = ``first`` patch,

    which is 1 exactly when changing the second patch does not turn the gradient on the first, i.e.
    when f does not couple the two locations. Both gradients come from one forward pass on the
    stacked batch (2B samples) kept in the graph, so the penalty is differentiable in the weights.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (2B, 1, H, W) to logits (2B, 2).
    images : torch.Tensor, shape (B, 1, H, W)
    labels : torch.Tensor of int64, shape (B,)
    first, second : tuple of (top row, left column, side)

    Returns
    -------
    penalty : torch.Tensor, scalar
    logits : torch.Tensor, shape (B, 2)
        Of the unmodified batch.
    """
    swapped = images.clone()
    _cut(swapped, second).copy_(_cut(images.roll(1, 0), second))
    stacked = torch.cat([images, swapped]).requires_grad_(True)
    logits = model(stacked)
    true_class = logits.gather(1, labels.repeat(2)[:, None]).sum()
    (gradient,) = torch.autograd.grad(true_class, stacked, create_graph=True)
    on_first = _cut(gradient, first).flatten(1)
    half = len(images)
    cosine = torch.nn.functional.cosine_similarity(on_first[:half], on_first[half:], dim=1, eps=1e-12)
    return cosine.abs().mean(), logits[:half]


@dataclass(frozen=True)
class SameClassRun:
    """Outcome of ``train_same_class``.

    Attributes
    ----------
    train_accuracy, test_accuracy : float
    loss : ndarray, shape (steps // 100,)
        The training loss every 100 steps.
    coupling : float
        The penalty's mean |cos| on the first ``COUPLING_SAMPLES`` test canvases over ``probes``
        patch pairs drawn as in training (1 = no interaction between the two locations).
    """

    train_accuracy: float
    test_accuracy: float
    loss: NDArray[np.float64]
    coupling: float


def train_same_class(width: int, penalty: float, seed: int, samples: int = 2000, test_samples: int = 2000,
                     steps: int = 1500, channels: int = 16, noise: float = 0.2, lr: float = 2e-3,
                     batch: int = 128, regions: str = "digits", patch: int = 4, distance: int = 10,
                     probes: int = 8, warmup: int = 0, device: str = "cpu") -> SameClassRun:
    """Train ``locality_cnn`` on ``same_class_canvas`` with Adam, with or without the regularizer.

    Cross-entropy + ``penalty`` × ``gradient_change_penalty`` over mini-batches; everything (data,
    initialization, batches, patches) follows ``seed``. The regularizer's patch pair is drawn afresh
    each step: ``regions="digits"`` the two digit slots (``digit_slots``, as in the authors'
    is-same-class runs), ``"random"`` two ``patch``×``patch`` patches >= ``distance`` columns apart
    (``distant_patches``, as in their Pathfinder runs). Batches and patch pairs come from separate
    generators, so runs with and without the penalty see the same batches.

    Parameters
    ----------
    width : int
        Canvas columns, >= 16.
    penalty : float
        The regularizer's coefficient, >= 0.
    seed : int
    samples, test_samples : int, default 2000
    steps : int, default 1500
    channels : int, default 16
    noise : float, default 0.2
    lr : float, default 2e-3
    batch : int, default 128
        >= 2 (the cyclic shift needs two samples).
    regions : {"digits", "random"}, default "digits"
    patch : int, default 4
    distance : int, default 10
    probes : int, default 8
        Patch pairs of the final coupling.
    warmup : int, default 0
        The penalty is off for the first ``warmup`` steps.
    device : str or torch.device, default "cpu"
        Where the network, the data and the penalty's gradients live ("cuda" on a GPU); batches and
        patch pairs are drawn on the CPU from the same generators, so the draws do not depend on it.

    Returns
    -------
    SameClassRun

    Raises
    ------
    ValueError
        Naming the argument: an unknown ``regions``, a negative ``penalty``, a non-positive size,
        ``batch`` < 2, an unknown ``device``.
    """
    where = as_device(device)
    penalty = nonnegative_float(penalty, "penalty")
    if regions not in ("digits", "random"):
        raise ValueError(f"regions must be 'digits' or 'random', got {regions!r}")
    steps, batch = positive_int(steps, "steps"), positive_int(batch, "batch", minimum=2)
    warmup = positive_int(warmup, "warmup", minimum=0)
    images, labels = (t.to(where) for t in same_class_canvas(samples, width, noise, "train", seed))
    test_images, test_labels = (t.to(where) for t in same_class_canvas(test_samples, width, noise, "test",
                                                                       seed + 1))
    if regions == "random":
        _check_distance(width, patch, distance)  # before any training
    with torch.random.fork_rng():
        torch.manual_seed(as_seed(seed))
        model = locality_cnn(width, channels).to(where)
    batches = torch.Generator().manual_seed(as_seed(seed))
    pairs = torch.Generator().manual_seed(as_seed(seed) + 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=nonnegative_float(lr, "lr", positive=True))
    losses = []
    for step in range(steps):
        chosen = torch.randint(0, samples, (batch,), generator=batches).to(where)
        x, y = images[chosen], labels[chosen]
        if penalty > 0 and step >= warmup:
            first, second = _patch_pair(regions, width, patch, distance, pairs)
            regularizer, logits = gradient_change_penalty(model, x, y, first, second)
            loss = torch.nn.functional.cross_entropy(logits, y) + penalty * regularizer
        else:
            loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        finite_loss(loss, "train_same_class", step).backward()
        optimizer.step()
        if step % 100 == 0:
            losses.append(loss.item())
    return SameClassRun(_accuracy(model, images, labels), _accuracy(model, test_images, test_labels),
                        np.array(losses), _coupling(model, test_images[:COUPLING_SAMPLES],
                                                    test_labels[:COUPLING_SAMPLES],
                                                    lambda g: _patch_pair(regions, width, patch, distance, g),
                                                    probes, seed))


def _accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).double().mean())


def _patch_pair(regions: str, width: int, patch: int, distance: int,
                generator: torch.Generator) -> tuple[Patch, Patch]:
    if regions == "digits":
        return digit_slots(width, generator)
    return distant_patches(DIGIT, width, patch, distance, generator)


def _coupling(model, images, labels, pair, probes, seed) -> float:
    generator = torch.Generator().manual_seed(as_seed(seed) + 1)
    values = [gradient_change_penalty(model, images, labels, *pair(generator))[0].item()
              for _ in range(probes)]
    return float(np.mean(values))
