"""Trainable networks on top of a pretrained backbone, and what they are fed.

Every model in the book is ``head(top(trunk(image)))``: a frozen ``trunk`` (the lower part of an
ImageNet or CLIP backbone), a fine-tuned ``top`` (its last stages or blocks) and a task ``head``
(cell classifier, coordinate regressor, contrastive projection). :class:`Inputs` hides where the
top's input comes from: in the ``ci`` profile the trunk's activations are computed once and cached
(:func:`geosurvey.features.activations`), so a CPU fine-tunes in seconds an epoch; in the ``full``
profile images stream through the frozen trunk on the GPU. The model code is the same in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import backbones, features
from .data.sets import ImageSet


class Network(nn.Module):
    """``head(top(trunk(x)))`` with the trunk frozen (or absent when ``x`` is already its output)."""

    def __init__(self, top: nn.Module, head: nn.Module, trunk: nn.Module | None = None):
        super().__init__()
        self.top, self.head = top, head
        self.trunk = trunk
        if trunk is not None:
            trunk.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.trunk is not None:
            self.trunk.eval()  # frozen: batch-norm statistics stay the pretrained ones
        return self

    def features(self, x):
        if self.trunk is not None:
            with torch.no_grad():
                x = self.trunk(x)
        return self.top(x)

    def forward(self, x):
        return self.head(self.features(x))


class ProjectionHead(nn.Module):
    """Two-layer MLP (ReLU, dropout) to an L2-normalised embedding, as in SimCLR/SupCon and seed 002."""

    def __init__(self, in_dim: int, out_dim: int = 128, hidden: int = 512, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                 nn.Linear(hidden, out_dim))

    def forward(self, x):
        return nn.functional.normalize(self.net(x), dim=-1)


class UnitVectorHead(nn.Module):
    """Direct regression: a point on the sphere as a 3-D unit vector (no longitude wrap-around)."""

    def __init__(self, in_dim: int, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, 3))

    def forward(self, x):
        return nn.functional.normalize(self.net(x), dim=-1)


def classifier_head(in_dim: int, n_classes: int, dropout: float = 0.2) -> nn.Module:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, n_classes))


class HybridViT(nn.Module):
    """A small ViT whose tokens are the cells of a CNN feature map (ViT-Hybrid, Dosovitskiy 2021).

    Used as the ``ci`` stand-in for a pretrained ViT: its transformer is trained from scratch, the
    CNN below it is ImageNet-pretrained and frozen. Returns the final [CLS] token.
    """

    def __init__(self, in_channels: int, n_tokens: int, dim: int = 192, depth: int = 4, heads: int = 4,
                 dropout: float = 0.1):
        super().__init__()
        self.embed = nn.Conv2d(in_channels, dim, 1)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n_tokens + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.num_features = dim

    def forward(self, fmap):
        tokens = self.embed(fmap).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], dim=1) + self.pos
        return self.norm(self.encoder(x))[:, 0]


@dataclass
class Inputs:
    """What the trainable part of a model reads for one split.

    Either ``cached`` activations (an array, row i for image i) or ``images`` streamed through
    ``transform`` (then the :class:`Network` must carry the frozen trunk).
    """

    cached: np.ndarray | None = None
    images: ImageSet | None = None
    transform: object = None
    num_workers: int = 0

    def __len__(self) -> int:
        return len(self.cached) if self.cached is not None else len(self.images)

    def subset(self, keep) -> "Inputs":
        """The rows where boolean ``keep`` is true, in order."""
        if self.cached is not None:
            return Inputs(cached=self.cached[keep])
        return Inputs(images=self.images.subset(np.flatnonzero(keep)), transform=self.transform,
                      num_workers=self.num_workers)

    def batches(self, targets=None, batch_size: int = 128, shuffle: bool = False, seed: int = 0):
        """``epoch -> iterable of (x, y)``; ``y`` is ``targets[i]`` (or the row index) and each
        epoch shuffles with its own seed, so a resumed run sees the same batches."""
        n = len(self)
        y_all = torch.as_tensor(np.arange(n) if targets is None else np.asarray(targets))
        if len(y_all) != n:
            raise ValueError(f"{len(y_all)} targets for {n} inputs")

        if self.cached is None:
            def stream(epoch):
                return features.loader(self.images.view(self.transform, y_all), batch_size, shuffle,
                                       self.num_workers, seed + epoch)
            return stream

        x_all = torch.from_numpy(np.asarray(self.cached))

        def cached(epoch):
            order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)) if shuffle \
                else torch.arange(n)
            for i in range(0, n, batch_size):
                j = order[i:i + batch_size]
                yield x_all[j].float(), y_all[j]
        return cached


def backbone_parts(cfg, name: str | None = None):
    """``(trunk, top, info)`` of the profile's backbone cut at ``cfg.top_stages``; the trunk is
    ``None`` when the profile trains on cached activations."""
    model, info = backbones.create(name or cfg.backbone)
    trunk, top = backbones.split(model, cfg.top_stages)
    return (None if cfg.cache_trunk else trunk), top, info


def inputs(cfg, images: ImageSet, name: str | None = None) -> Inputs:
    """:class:`Inputs` for ``images``: the cached output of backbone ``name``'s trunk in the
    ``ci`` profile (it must be among the profile's taps), the images themselves otherwise."""
    name = name or cfg.backbone
    model, info = backbones.create(name)
    if not cfg.cache_trunk:
        return Inputs(images=images, transform=features.image_transform(info.mean, info.std, cfg.input_px),
                      num_workers=cfg.num_workers)
    tap = backbones.trunk_tap(model, cfg.top_stages)
    acts = features.activations(name, images, cfg.input_px, cfg.taps, cfg.batch_size, cfg.device, cfg.num_workers)
    if tap not in acts:
        raise KeyError(f"{name}'s trunk ends at {tap!r}, which is not among the profile's cached taps {cfg.taps}")
    return Inputs(cached=acts[tap])


@torch.no_grad()
def predict(model: nn.Module, batches, device: str = "cpu", fn=None) -> np.ndarray:
    """Concatenated outputs of ``fn(model, x)`` (default ``model(x)``) over ``batches``, in order."""
    model.to(device).eval()
    out = []
    for x, _ in (batches(0) if callable(batches) else batches):
        y = model(x.to(device)) if fn is None else fn(model, x.to(device))
        out.append(y.float().cpu().numpy())
    return np.concatenate(out)


class AlbumLSTM(nn.Module):
    """PlaNet's sequence model: a bidirectional LSTM over an album's image features that
    predicts every image's cell from its own features and the rest of the album."""

    def __init__(self, in_dim: int, n_classes: int, hidden: int = 256, dropout: float = 0.3):
        super().__init__()
        self.inp = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(inplace=True))
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(3 * hidden, n_classes))

    def forward(self, x):  # (B, L, in_dim) -> (B, L, n_classes)
        h = self.inp(x)
        context, _ = self.lstm(h)
        return self.out(torch.cat([h, context], dim=-1))
