"""Frozen-backbone features and tiny-image vectors, cached on disk by their inputs."""

from __future__ import annotations

import functools
import os
import time

import numpy as np
import torch

from . import backbones, cache, compat, files
from .data.sets import ImageSet
from .progress import bar
from .train import distributed


def image_transform(mean, std, input_px: int):
    """Resize to ``input_px`` square (tiles are square; photos are centre-cropped), to
    tensor, normalise."""
    compat.ensure_torchvision()
    from torchvision import transforms as T

    return T.Compose(
        [
            T.Resize(input_px, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(input_px),
            T.ToTensor(),
            T.Normalize(mean, std),
        ]
    )


class Uint8Transform:
    """What :func:`image_transform` does before ``ToTensor`` and ``Normalize``, for the
    GPU path: resize the shorter side to ``input_px`` (bicubic, antialiased: torch's
    resampling of uint8 images, within a grey level or two of PIL's that
    :func:`image_transform` uses) and centre-crop, to a uint8 (3, input_px, input_px)
    tensor. Batches stay uint8 (4x less to pin and copy) and are normalised on their
    device by the trunk (:func:`geosurvey.backbones.accept_uint8`). Image sets hand it
    (H, W, 3) arrays (``takes_arrays``) decoded no larger than needed (``min_side``)."""

    takes_arrays = True

    def __init__(self, input_px: int, augment: bool = False):
        self.input_px = self.min_side = int(input_px)
        self.augment = augment

    def __call__(self, img):
        arr = img if isinstance(img, np.ndarray) else np.array(img.convert("RGB"))
        (h, w), px = arr.shape[:2], self.input_px
        size = (
            (px, int(px * w / h)) if h <= w else (int(px * h / w), px)
        )  # torchvision's Resize(int)
        x = torch.from_numpy(arr).permute(2, 0, 1)[None]
        x = torch.nn.functional.interpolate(
            x, size=size, mode="bicubic", antialias=True, align_corners=False
        )
        if self.augment:
            return self._random_view(x)
        top, left = int(round((size[0] - px) / 2.0)), int(round((size[1] - px) / 2.0))
        return x[0, :, top : top + px, left : left + px].contiguous()

    def _random_view(self, x):
        """Lo et al.'s training augmentation: a random square crop of 60-100 % of the
        shorter side, resized back, flipped left to right half of the time."""
        px, (h, w) = self.input_px, x.shape[-2:]
        side = int(px * (0.6 + 0.4 * torch.rand(1).item()))
        top, left = (int(torch.randint(0, n - side + 1, ()).item()) for n in (h, w))
        crop = x[..., top : top + side, left : left + side].float()
        crop = torch.nn.functional.interpolate(crop, size=(px, px), mode="bicubic")
        crop = crop.round().clamp(0, 255).to(torch.uint8)[0]
        return (crop.flip(-1) if torch.rand(1).item() < 0.5 else crop).contiguous()

    def __repr__(self) -> str:
        return (
            f"Uint8Transform(input_px={self.input_px}, "
            "resize=bicubic antialiased (torch), "
            + ("crop=random 60-100 %, flip=random)" if self.augment else "crop=centre)")
        )


class EpochSampler:
    """The rows of each epoch: in order, or shuffled with seed ``seed + epoch`` (so a
    resumed run sees the same batches). With ``shard`` and several processes
    (DistributedDataParallel), each process takes every world-th row of that order,
    padded by wrapping around to ceil(n / world) rows as DistributedSampler does: every
    process runs the same number of steps (or DDP would hang), the shards cover the
    epoch and are disjoint but for those few repeated rows."""

    def __init__(
        self, n: int, shuffle: bool = False, seed: int = 0, shard: bool = False
    ):
        self.n, self.shuffle, self.seed, self.epoch = n, shuffle, seed, 0
        self.rank, self.world = distributed() if shard else (0, 1)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self):
        order = (
            torch.randperm(
                self.n, generator=torch.Generator().manual_seed(self.seed + self.epoch)
            )
            if self.shuffle
            else torch.arange(self.n)
        )
        order = torch.cat([order, order[: len(self) * self.world - self.n]])
        shard = order[self.rank :: self.world]
        log = os.environ.get(
            "GEOSURVEY_SHARD_LOG"
        )  # audit: which rows each process trained on
        if log and self.world > 1:
            np.savetxt(
                os.path.join(log, f"rank{self.rank}-epoch{self.epoch}.txt"),
                shard.numpy(),
                fmt="%d",
            )
        return shard

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return -(-self.n // self.world)


def loader(
    dataset,
    batch_size: int,
    shuffle: bool = False,
    num_workers: int = 0,
    seed: int = 0,
    shard: bool = False,
):
    """A DataLoader over ``dataset`` whose :class:`EpochSampler` is its ``sampler``:
    call ``loader.sampler.set_epoch(e)`` and iterate again; workers persist across
    epochs."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=EpochSampler(len(dataset), shuffle, seed, shard),
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
    )


def extract(
    model,
    images: ImageSet,
    transform,
    *,
    batch_size: int = 128,
    device: str = "cpu",
    num_workers: int = 0,
    desc: str = "features",
) -> np.ndarray:
    """Features (n, d) float32 of every image, in order, with the model in eval mode."""
    model = model.to(device, memory_format=torch.channels_last).eval()  # 2x on a CPU
    out = []
    with torch.inference_mode():
        for x, _ in bar(
            loader(images.view(transform), batch_size, num_workers=num_workers),
            desc=desc,
        ):
            with torch.autocast(
                device_type="cuda",
                dtype=torch.bfloat16,
                enabled=device.startswith("cuda"),
            ):
                out.append(model(x.to(device, non_blocking=True)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _tapped_pass(
    model, info, images, *, input_px, taps, batch_size, device, num_workers
):
    """Pooled features of every image and the outputs of the modules named in
    ``taps``."""
    modules = dict(model.named_modules())
    missing = [t for t in taps if t not in modules]
    if missing:
        raise KeyError(f"{info.name} has no module(s) {missing} to tap")
    caught = {t: [] for t in taps}

    def hook(t):
        return lambda _m, _i, out: caught[t].append(
            out.detach().to("cpu", torch.float16).numpy()
        )

    hooks = [modules[t].register_forward_hook(hook(t)) for t in taps]
    try:
        pooled = extract(
            model,
            images,
            image_transform(info.mean, info.std, input_px),
            batch_size=batch_size,
            device=device,
            num_workers=num_workers,
            desc=f"{info.name} {images.name}",
        )
    finally:
        for h in hooks:
            h.remove()
    return pooled, {t: np.concatenate(parts) for t, parts in caught.items()}


def activations(
    backbone: str,
    images: ImageSet,
    input_px: int,
    *,
    taps=(),
    batch_size: int = 128,
    device: str = "cpu",
    num_workers: int = 0,
    weights: str = "auto",
) -> dict:
    """Pooled features of a pretrained backbone plus the outputs of the modules named in
    ``taps``.

    One forward pass fills every array, cached once per (backbone, images, size, taps):
    chapter 1's frozen k-NN, the trunk activations later chapters fine-tune on, and the
    feature maps a small ViT reads as tokens all come from the same pass. Tapped maps
    are stored as float16.
    """
    taps = tuple(taps)
    params = {
        "backbone": backbone,
        "weights": weights,
        "images": images.fingerprint(),
        "input_px": input_px,
        "taps": list(taps),
        "memory_format": "channels_last",
    }
    folder = cache.entry("activations", params)
    if not folder.exists():
        model, info = backbones.create(backbone, weights=weights)
        pooled, maps = _tapped_pass(
            model,
            info,
            images,
            input_px=input_px,
            taps=taps,
            batch_size=batch_size,
            device=device,
            num_workers=num_workers,
        )
        with files.atomic_folder(folder) as tmp:
            np.save(tmp / "pooled.npy", pooled.astype(np.float32))
            for t, array in maps.items():
                np.save(tmp / f"{t}.npy", array)
    return {name: np.load(folder / f"{name}.npy") for name in ("pooled", *taps)}


def profile_activations(cfg, images: ImageSet, backbone: str | None = None) -> dict:
    """:func:`activations` of ``images`` as the profile computes them: its backbone (or
    ``backbone``), input size, cached taps, batch size, device and workers."""
    return activations(
        backbone or cfg.backbone,
        images,
        cfg.input_px,
        taps=cfg.taps,
        batch_size=cfg.batch_size,
        device=cfg.device,
        num_workers=cfg.num_workers,
    )


def frozen_features(cfg, images: ImageSet, backbone: str | None = None) -> np.ndarray:
    """Pooled features of the profile's pretrained backbone (one cached pass of
    :func:`activations`)."""
    return profile_activations(cfg, images, backbone)["pooled"]


def tiny_images(images: ImageSet, size: int = 16) -> np.ndarray:
    """Torralba's tiny images: each image shrunk to ``size`` x ``size``, centred and
    L2-normalised."""
    folder = cache.entry("tiny", {"images": images.fingerprint(), "size": size})
    if folder.exists():
        return np.load(folder / "tiny.npy")
    vecs = np.empty((len(images), size * size * 3), dtype=np.float32)
    for i in bar(range(len(images)), desc=f"tiny images {images.name}"):
        vecs[i] = np.asarray(
            images.load(i).resize((size, size), _box()), dtype=np.float32
        ).ravel()
    vecs -= vecs.mean(axis=1, keepdims=True)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-6
    with files.atomic_folder(folder) as tmp:
        np.save(tmp / "tiny.npy", vecs)
    return vecs


def _box():
    from PIL import Image

    return Image.Resampling.BOX


def forward_ms(cfg, batch: int = 32, repeats: int = 3) -> float:
    """Milliseconds per image of one forward pass of the profile's whole backbone at its
    input size on its device (best of ``repeats`` batches after a warm-up): the cost of
    one test-time crop."""
    return _forward_ms(cfg.backbone, cfg.input_px, cfg.device, batch, repeats)


@functools.lru_cache(maxsize=None)
def _forward_ms(
    backbone: str, input_px: int, device: str, batch: int, repeats: int
) -> float:
    model = backbones.create(backbone)[0].to(device).eval()
    x = torch.randn(batch, 3, input_px, input_px, device=device)
    best = float("inf")
    with torch.inference_mode():
        model(x)
        for _ in range(repeats):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
    return 1000.0 * best / batch
