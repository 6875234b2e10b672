"""Trainable networks on top of a pretrained backbone.

Every model in the book is ``head(top(trunk(image)))``: a frozen ``trunk`` (the lower
part of an ImageNet or CLIP backbone), a fine-tuned ``top`` (its last stages or blocks)
and a task ``head`` (cell classifier, coordinate regressor, contrastive projection).
What the top reads, cached trunk activations or streamed images, is
:mod:`geosurvey.inputs`' business: the model code is the same either way.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import torch
from torch import nn

from . import backbones


class Network(nn.Module):
    """``head(top(trunk(x)))`` with the trunk frozen (or absent when ``x`` is already
    its output)."""

    def __init__(self, top: nn.Module, head: nn.Module, trunk: nn.Module | None = None):
        super().__init__()
        self.top, self.head = top, head
        self.trunk = trunk
        if trunk is not None:
            trunk.requires_grad_(False)
        # channels-last: faster convolutions and batch norms on a CPU
        self.to(memory_format=torch.channels_last)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.trunk is not None:
            self.trunk.eval()  # frozen: batch-norm statistics stay the pretrained ones
        for module in self.top.modules():  # so do those of frozen layers of the top
            own = list(module.parameters(recurse=False))
            if own and not any(p.requires_grad for p in own):
                module.eval()
        return self

    def features(self, x):
        if self.trunk is not None:
            with torch.no_grad():
                x = self.trunk(x)
        return self.top(x)

    def forward(self, x):
        return self.head(self.features(x))


class ProjectionHead(nn.Module):
    """Two-layer MLP (ReLU, dropout) to an L2-normalised embedding, as in SimCLR/SupCon
    and Wu (256 dimensions, dropout 0.3: Wu 2025, line 54)."""

    def __init__(
        self, in_dim: int, out_dim: int = 256, hidden: int = 512, dropout: float = 0.3
    ):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x):
        return nn.functional.normalize(self.net(x), dim=-1)


class UnitVectorHead(nn.Module):
    """Direct regression: a point on the sphere as a 3-D unit vector (no longitude
    wrap-around)."""

    def __init__(self, in_dim: int, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, 3))

    def forward(self, x):
        return nn.functional.normalize(self.net(x), dim=-1)


def classifier_head(in_dim: int, n_classes: int, dropout: float = 0.2) -> nn.Module:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, n_classes))


class MultiHead(nn.Module):
    """Several linear heads on one feature vector: ``{name: outputs}`` (cells and
    auxiliary tasks).

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
    """A small ViT whose tokens are the cells of a CNN feature map (ViT-Hybrid,
    Dosovitskiy 2021).

    Used as the ``ci`` stand-in for a pretrained ViT: its transformer is trained from
    scratch, the CNN below it is ImageNet-pretrained and frozen. Returns the final [CLS]
    token.
    """

    def __init__(
        self,
        in_channels: int,
        n_tokens: int,
        *,
        dim: int = 192,
        depth: int = 4,
        heads: int = 4,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.embed = nn.Conv2d(in_channels, dim, 1)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n_tokens + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(
            dim,
            heads,
            4 * dim,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.num_features = dim

    def forward(self, fmap):
        tokens = self.embed(fmap).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], dim=1) + self.pos
        return self.norm(self.encoder(x))[:, 0]


class TokenMLP(nn.Module):
    """The :class:`HybridViT` without attention, the control that tells what attention
    adds: the same tokens with the same position embeddings, each through the same
    pre-norm MLP blocks on its own (no token sees another), then averaged."""

    def __init__(
        self, in_channels: int, n_tokens: int, *, dim: int, depth: int, dropout=0.1
    ):
        super().__init__()
        self.embed = nn.Conv2d(in_channels, dim, 1)
        self.pos = nn.Parameter(torch.randn(1, n_tokens, dim) * 0.02)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.LayerNorm(dim),
                nn.Linear(dim, 4 * dim),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(4 * dim, dim),
                nn.Dropout(dropout),
            )
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)
        self.num_features = dim

    def forward(self, fmap):
        x = self.embed(fmap).flatten(2).transpose(1, 2) + self.pos
        for block in self.blocks:
            x = x + block(x)
        return self.norm(x.mean(1))


def backbone_parts(cfg, name: str | None = None, top_stages: int | None = None):
    """``(trunk, top, info)`` of the backbone cut at ``top_stages`` (default: the
    profile's); the trunk is ``None`` when the profile trains on cached activations.
    Fresh copies of parts built and loaded once a process."""
    stages = cfg.top_stages if top_stages is None else top_stages
    trunk, top, info = _parts(name or cfg.backbone, stages, not cfg.cache_trunk)
    return (*copy.deepcopy((trunk, top)), info)


@functools.lru_cache(maxsize=8)
def _parts(name: str, top_stages: int, with_trunk: bool):
    model, info = backbones.create(name)
    trunk, top = backbones.split(model, top_stages)
    return (trunk if with_trunk else None), top, info


class AlbumLSTM(nn.Module):
    """PlaNet's sequence model: a bidirectional LSTM over an album's image features that
    predicts every image's cell from its own features and the rest of the album."""

    def __init__(
        self, in_dim: int, n_classes: int, hidden: int = 256, dropout: float = 0.3
    ):
        super().__init__()
        self.inp = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(inplace=True)
        )
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(3 * hidden, n_classes))

    def forward(self, x):  # (B, L, in_dim) -> (B, L, n_classes)
        h = self.inp(x)
        context, _ = self.lstm(h)
        return self.out(torch.cat([h, context], dim=-1))


def seeded(seed: int, build, *args, **kwargs):
    """``build(*args, **kwargs)`` right after seeding torch: a new head's initial
    weights depend only on the seed, not on what consumed random numbers before (e.g. a
    cache miss)."""
    torch.manual_seed(seed)
    return build(*args, **kwargs)


def network(
    cfg, head, *args, name: str | None = None, top_stages: int | None = None
) -> Network:
    """The backbone's frozen trunk and fine-tuned top under a new head built (seeded) as
    ``head(backbone feature width, *args)``; ``top_stages`` overrides the profile's cut.
    """
    trunk, top, info = backbone_parts(cfg, name, top_stages)
    return Network(top, seeded(cfg.seed, head, info.num_features, *args), trunk)


@dataclass(frozen=True)
class EmbeddingModel:
    """One of Wu's embedding models: how to build it, what it reads, what it is.

    ``tap``: the backbone module whose cached output it reads (``None``: the profile's
    trunk); ``pretrained``: whether its top starts from pretrained weights (then it
    learns at the chapter's smaller learning rate) or is trained from scratch.
    """

    name: str
    build: object  # () -> a fresh, seeded Network ending in a ProjectionHead
    backbone: str
    tap: str | None
    description: str
    pretrained: bool


def bundled_cnn(cfg) -> str:
    """The profile's backbone when it is a bundled ImageNet CNN, else the first bundled
    one."""
    return (
        cfg.backbone
        if cfg.backbone in backbones.BUNDLED
        else sorted(backbones.BUNDLED)[-1]
    )


def cnn_embedding_model(
    cfg, out_dim: int = 256, top_stages: int | None = None, dropout: float = 0.3
) -> EmbeddingModel:
    """Model 1: the bundled ImageNet CNN with its top fine-tuned and a projection
    head (Wu: 256 dimensions, dropout 0.3)."""
    name, stages = (
        bundled_cnn(cfg),
        cfg.top_stages if top_stages is None else top_stages,
    )
    info = backbones.describe(name)
    tap = None if stages == cfg.top_stages else backbones.trunk_tap(name, stages)
    return EmbeddingModel(
        "CNN",
        lambda: network(
            cfg, _projection(dropout), out_dim, name=name, top_stages=stages
        ),
        name,
        tap,
        f"{info.title}; {_top_words(stages, 'stage')} fine-tuned",
        True,
    )


def vit_embedding_model(
    cfg,
    out_dim: int = 256,
    dim: int = 64,
    depth: int = 2,
    heads: int = 2,
    top_stages: int | None = None,
    dropout: float = 0.3,
) -> EmbeddingModel:
    """Model 2: the profile's pretrained ViT when it has one (``full`` with the hub:
    CLIP ViT-B/16, top blocks fine-tuned); otherwise a :class:`HybridViT` trained from
    scratch on a stride-16 feature map of the frozen CNN, since no ViT weights of known
    provenance install offline."""
    if cfg.backbone not in backbones.BUNDLED:
        info, stages = (
            backbones.describe(cfg.backbone),
            cfg.top_stages if top_stages is None else top_stages,
        )
        return EmbeddingModel(
            "ViT",
            lambda: network(cfg, _projection(dropout), out_dim, top_stages=stages),
            cfg.backbone,
            None,
            f"{info.title}; {_top_words(stages, 'block')} fine-tuned",
            True,
        )
    return hybrid_embedding_model(
        cfg, out_dim, dim=dim, depth=depth, heads=heads, dropout=dropout
    )


def hybrid_embedding_model(
    cfg, out_dim: int, *, dim, depth, dropout, heads: int = 2, attention: bool = True
) -> EmbeddingModel:
    """Model 2's stand-in, a :class:`HybridViT` trained from scratch on a stride-16
    feature map of the frozen CNN; without ``attention``, its control, a
    :class:`TokenMLP` of the same width and depth on the same tokens."""
    cnn = bundled_cnn(cfg)
    model, _ = backbones.create(cnn)
    token_trunk, _ = backbones.split(
        model, len(model.blocks) - 1 - int(cfg.token_tap.split(".")[1])
    )
    channels, h, w = backbones.output_shape(token_trunk, cfg.input_px)
    top, extra = (HybridViT, {"heads": heads}) if attention else (TokenMLP, {})

    def build():
        vit = seeded(cfg.seed, top, channels, h * w, dim=dim, depth=depth, **extra)
        head = seeded(cfg.seed, _projection(dropout), vit.num_features, out_dim)
        return Network(vit, head, None if cfg.cache_trunk else token_trunk)

    title = backbones.describe(cnn).title.split(" ImageNet")[0]
    what = "hybrid ViT" if attention else "MLP blocks without attention, averaged"
    text = (
        f"{what} ({depth} blocks, dim {dim}, trained from scratch) whose "
        f"{h * w} tokens are the frozen {title}'s {h}×{w}×{channels} feature map "
        f"(after its block {int(cfg.token_tap.split('.')[1]) + 1})"
    )
    name = "ViT" if attention else "no attention"
    return EmbeddingModel(name, build, cnn, cfg.token_tap, text, False)


def _projection(dropout: float):
    """A :class:`ProjectionHead` builder with this dropout."""
    return functools.partial(ProjectionHead, dropout=dropout)


def _top_words(top_stages: int, unit: str) -> str:
    if top_stages == 0:
        return "final 1x1 conv head" if unit == "stage" else "final norm"
    return f"last {top_stages} {unit}s" if top_stages > 1 else f"last {unit}"
