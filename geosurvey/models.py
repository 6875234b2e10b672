"""Trainable networks on top of a pretrained backbone, and what they are fed.

Every model in the book is ``head(top(trunk(image)))``: a frozen ``trunk`` (the lower part of an
ImageNet or CLIP backbone), a fine-tuned ``top`` (its last stages or blocks) and a task ``head``
(cell classifier, coordinate regressor, contrastive projection). :class:`Inputs` hides where the
top's input comes from: in the ``ci`` profile the trunk's activations are computed once and cached
(:func:`geosurvey.features.activations`), so a CPU fine-tunes in seconds an epoch; in the ``full``
and ``photos`` profiles images stream through the frozen trunk. The model code is the same in both.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import backbones, cache, features
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
    """Two-layer MLP (ReLU, dropout) to an L2-normalised embedding, as in SimCLR/SupCon and Wu et al.."""

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


class MultiHead(nn.Module):
    """Several linear heads on one feature vector: ``{name: outputs}`` (cells and auxiliary tasks).

    ``sizes``: ``{name: number of classes}``, 1 for a regressed value.
    """

    def __init__(self, in_dim: int, sizes: dict, dropout: float = 0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({k: nn.Linear(in_dim, n) for k, n in sizes.items()})

    def forward(self, x):
        h = self.drop(x)
        return {k: head(h) for k, head in self.heads.items()}


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
    """What the trainable part of a model reads for one split, and where those images are.

    Either ``cached`` activations (an array, row i for image i) or ``images`` streamed through
    ``transform`` (then the :class:`Network` must carry the frozen trunk). ``meta`` holds the
    images' rows (lat, lon, country, continent, ...), so recipes take one object per split.
    """

    meta: pd.DataFrame
    cached: np.ndarray | None = None
    images: ImageSet | None = None
    transform: object = None
    num_workers: int = 0

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def lat(self) -> np.ndarray:
        return self.meta["lat"].to_numpy(np.float64)

    @property
    def lon(self) -> np.ndarray:
        return self.meta["lon"].to_numpy(np.float64)

    def fingerprint(self) -> str:
        """Identity of these inputs for checkpoint keys: the bytes of cached activations, or the
        image set and its transform when streaming."""
        if self.cached is not None:
            return f"cached-{cache.fingerprint(self.cached)}"
        return f"stream-{features.fingerprint(self.images)}-{self.transform!r}"

    def subset(self, keep) -> "Inputs":
        """The rows where boolean ``keep`` is true (or the integer rows ``keep``), in order."""
        keep = np.asarray(keep)
        index = np.flatnonzero(keep) if keep.dtype == bool else keep
        meta = self.meta.iloc[index].reset_index(drop=True)
        if self.cached is not None:
            return Inputs(meta, cached=self.cached[index])
        return Inputs(meta, images=self.images.subset(index), transform=self.transform,
                      num_workers=self.num_workers)

    def batches(self, targets=None, batch_size: int = 128, shuffle: bool = False, seed: int = 0):
        """``epoch -> iterable of (x, y)``; ``y`` is ``targets[i]`` (or the row index). Each epoch
        shuffles with its own seed, so a resumed run sees the same batches; shuffled (training)
        batches are sharded across processes under DistributedDataParallel."""
        n = len(self)
        y_all = torch.as_tensor(np.arange(n) if targets is None else np.asarray(targets))
        if len(y_all) != n:
            raise ValueError(f"{len(y_all)} targets for {n} inputs")

        if self.cached is None:
            stream = features.loader(self.images.view(self.transform, y_all), batch_size, shuffle, self.num_workers,
                                     seed, shard=shuffle)

            def streamed(epoch):
                stream.sampler.set_epoch(epoch)
                return stream
            return streamed

        x_all = torch.from_numpy(np.asarray(self.cached))
        sampler = features.EpochSampler(n, shuffle, seed, shard=shuffle)

        def cached(epoch):
            sampler.set_epoch(epoch)
            order = sampler.indices()
            for i in range(0, len(order), batch_size):
                j = order[i:i + batch_size]
                yield x_all[j].float(), y_all[j]
        return cached


def backbone_parts(cfg, name: str | None = None):
    """``(trunk, top, info)`` of the profile's backbone cut at ``cfg.top_stages``; the trunk is
    ``None`` when the profile trains on cached activations."""
    model, info = backbones.create(name or cfg.backbone)
    trunk, top = backbones.split(model, cfg.top_stages)
    return (None if cfg.cache_trunk else trunk), top, info


def inputs(cfg, images, name: str | None = None, tap: str | None = None):
    """:class:`Inputs` for ``images`` (an image set, or a dict of them: then a dict back).

    ``ci``: the cached output of backbone ``name``'s module ``tap`` (default: where its trunk
    ends), which must be among the profile's cached taps. Otherwise the images themselves.
    """
    if isinstance(images, dict):
        return {k: inputs(cfg, v, name, tap) for k, v in images.items()}
    name = name or cfg.backbone
    if not cfg.cache_trunk:  # uint8 batches, normalised on the device by the trunk
        return Inputs(images.meta, images=images, transform=features.Uint8Transform(cfg.input_px),
                      num_workers=cfg.num_workers)
    tap = tap or backbones.trunk_tap(name, cfg.top_stages)
    if tap not in cfg.taps:
        raise KeyError(f"{name}'s module {tap!r} is not among the profile's cached taps {cfg.taps}")
    acts = features.activations(name, images, cfg.input_px, cfg.taps, cfg.batch_size, cfg.device, cfg.num_workers)
    return Inputs(images.meta, cached=acts[tap])


@torch.no_grad()
def predict(model: nn.Module, batches, device: str = "cpu", fn=None) -> np.ndarray:
    """Concatenated outputs of ``fn(model, x)`` (default ``model(x)``) over ``batches``, in order."""
    model.to(device).eval()
    out = []
    for x, _ in (batches(0) if callable(batches) else batches):
        y = model(x.to(device)) if fn is None else fn(model, x.to(device))
        out.append(y.float().cpu().numpy())
    return np.concatenate(out)


def outputs(model: nn.Module, x: Inputs, cfg, fn=None) -> np.ndarray:
    """``model``'s outputs (or ``fn(model, batch)``) for every row of ``x``, in order, batched as
    the profile says: logits, unit vectors or embeddings."""
    return predict(model, x.batches(None, 2 * cfg.batch_size), cfg.device, fn)


def head_outputs(model: nn.Module, x: Inputs, cfg) -> dict:
    """``{head: outputs}`` of a network ending in a :class:`MultiHead`, for every row of ``x``."""
    sizes = {k: h.out_features for k, h in model.head.heads.items()}
    flat = outputs(model, x, cfg, fn=lambda m, b: torch.cat([v.float() for v in m(b).values()], 1))
    return dict(zip(sizes, np.split(flat, np.cumsum(list(sizes.values()))[:-1], axis=1)))


def weights_fingerprint(model: nn.Module) -> str:
    """Digest of a model's weights: the key of a run that starts from trained weights."""
    return cache.fingerprint(torch.cat([t.detach().float().flatten().cpu() for t in model.state_dict().values()]).numpy())


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


def seeded(seed: int, build, *args, **kwargs):
    """``build(*args, **kwargs)`` right after seeding torch: a new head's initial weights depend
    only on the seed, not on what consumed random numbers before (e.g. a cache miss)."""
    torch.manual_seed(seed)
    return build(*args, **kwargs)


def network(cfg, head, *args, name: str | None = None) -> Network:
    """The profile backbone's (frozen) trunk and fine-tuned top under a new head built (seeded) as
    ``head(backbone feature width, *args)``."""
    trunk, top, info = backbone_parts(cfg, name)
    return Network(top, seeded(cfg.seed, head, info.num_features, *args), trunk)


@dataclass
class Candidate:
    """A model to train: the network, its inputs per split, what it is, and the learning-rate
    scale of its ``top`` (the profile's when pretrained, 1 when trained from scratch)."""

    network: Network
    inputs: dict
    description: str
    top_lr_scale: float


def embedding_models(cfg, splits, out_dim: int = 128, names=("CNN", "ViT")) -> dict:
    """Wu et al.'s Model 1 (CNN) and Model 2 (ViT), each with a projection head, and their inputs.

    The CNN is the profile's bundled ImageNet CNN (or the first one bundled). The ViT is the
    profile's pretrained ViT when it has one (``full`` with hub access: CLIP ViT-B/16, top blocks
    fine-tuned); otherwise a :class:`HybridViT` trained from scratch on a stride-16 feature map of
    the frozen CNN, since no ViT weights of known provenance install offline.
    """
    cnn_name = cfg.backbone if cfg.backbone in backbones.BUNDLED else sorted(backbones.BUNDLED)[-1]
    trunk, top, info = backbone_parts(cfg, cnn_name)
    x_cnn = inputs(cfg, splits, name=cnn_name)
    head = seeded(cfg.seed, ProjectionHead, info.num_features, out_dim)
    out = {"CNN": Candidate(Network(copy.deepcopy(top), head, trunk), x_cnn,
                            f"{info}; {_top_words(cfg.top_stages, 'stage')} fine-tuned", cfg.top_lr_scale)}
    if "ViT" not in names:
        return out
    if cfg.backbone not in backbones.BUNDLED:  # a pretrained ViT is available
        trunk, top, info = backbone_parts(cfg)
        head = seeded(cfg.seed, ProjectionHead, info.num_features, out_dim)
        out["ViT"] = Candidate(Network(top, head, trunk), inputs(cfg, splits),
                               f"{info}; {_top_words(cfg.top_stages, 'block')} fine-tuned", cfg.top_lr_scale)
    else:
        x_map = inputs(cfg, splits, name=cnn_name, tap=cfg.token_tap)
        model, _ = backbones.create(cnn_name)
        token_trunk, _ = backbones.split(model, len(model.blocks) - 1 - int(cfg.token_tap.split(".")[1]))
        channels, h, w = backbones.output_shape(token_trunk, cfg.input_px)
        vit = seeded(cfg.seed, HybridViT, channels, h * w, dim=64, depth=2, heads=2)
        head = seeded(cfg.seed, ProjectionHead, vit.num_features, out_dim)
        out["ViT"] = Candidate(Network(vit, head, None if cfg.cache_trunk else token_trunk), x_map,
                               f"hybrid ViT (2 blocks, dim 64, trained from scratch) whose {h * w} tokens are the "
                               f"frozen {cnn_name}'s {h}x{w}x{channels} feature map ({cfg.token_tap})", 1.0)
    return out


def _top_words(top_stages: int, unit: str) -> str:
    if top_stages == 0:
        return "final 1x1 conv head" if unit == "stage" else "final norm"
    return f"last {top_stages} {unit}(s)"
