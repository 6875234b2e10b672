"""What a model is fed, and its outputs over a whole split.

:class:`SplitInputs` hides where the trainable part of a model reads from: in the ``ci``
profile the frozen trunk's activations are computed once and cached
(:func:`geosurvey.features.activations`), so a CPU fine-tunes in seconds an epoch; in
the ``full`` and ``photos`` profiles images stream through the frozen trunk. Either way
a split is one object with its rows' metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import backbones, cache, features
from .data.sets import ImageSet


@dataclass
class SplitInputs:
    """What the trainable part of a model reads for one split, and where those images
    are.

    Either ``cached`` activations (an array, row i for image i) or ``images`` streamed
    through ``transform`` (then the :class:`Network` must carry the frozen trunk).
    ``meta`` holds the images' rows (lat, lon, country, continent, ...), so recipes take
    one object per split.
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
        """Identity of these inputs for checkpoint keys: the bytes of cached
        activations, or the image set and its transform when streaming."""
        if self.cached is not None:
            return f"cached-{cache.fingerprint(self.cached)}"
        return f"stream-{self.images.fingerprint()}-{self.transform!r}"

    def subset(self, keep) -> "SplitInputs":
        """The rows where boolean ``keep`` is true (or the integer rows ``keep``), in
        order."""
        keep = np.asarray(keep)
        index = np.flatnonzero(keep) if keep.dtype == bool else keep
        meta = self.meta.iloc[index].reset_index(drop=True)
        if self.cached is not None:
            return SplitInputs(meta, cached=self.cached[index])
        return SplitInputs(
            meta,
            images=self.images.subset(index),
            transform=self.transform,
            num_workers=self.num_workers,
        )

    def augmented(self) -> "SplitInputs":
        """These inputs with random crops and flips, where images stream (training);
        cached activations are what they are."""
        if self.images is None or not isinstance(
            self.transform, features.Uint8Transform
        ):
            return self
        view = features.Uint8Transform(self.transform.input_px, augment=True)
        return SplitInputs(
            self.meta, images=self.images, transform=view, num_workers=self.num_workers
        )

    def batches(
        self, targets=None, batch_size: int = 128, shuffle: bool = False, seed: int = 0
    ):
        """``epoch -> iterable of (x, y)``; ``y`` is ``targets[i]`` (or the row index).
        Each epoch shuffles with its own seed, so a resumed run sees the same batches;
        shuffled (training) batches are sharded across processes under
        DistributedDataParallel."""
        n = len(self)
        y_all = torch.as_tensor(
            np.arange(n) if targets is None else np.asarray(targets)
        )
        if len(y_all) != n:
            raise ValueError(f"{len(y_all)} targets for {n} inputs")

        if self.cached is None:
            stream = features.loader(
                self.images.view(self.transform, y_all),
                batch_size,
                shuffle,
                self.num_workers,
                seed,
                shard=shuffle,
            )

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
                j = order[i : i + batch_size]
                yield x_all[j].float(), y_all[j]

        return cached


def of_images(cfg, images, name: str | None = None, tap: str | None = None):
    """:class:`SplitInputs` for ``images`` (an image set, or a dict of them: then a dict
    back).

    ``ci``: the cached output of backbone ``name``'s module ``tap`` (default: where its
    trunk ends), which must be among the profile's cached taps. Otherwise the images
    themselves.
    """
    if isinstance(images, dict):
        return {k: of_images(cfg, v, name, tap) for k, v in images.items()}
    name = name or cfg.backbone
    if not cfg.cache_trunk:  # uint8 batches, normalised on the device by the trunk
        return SplitInputs(
            images.meta,
            images=images,
            transform=features.Uint8Transform(cfg.input_px),
            num_workers=cfg.num_workers,
        )
    tap = tap or backbones.trunk_tap(name, cfg.top_stages)
    if tap not in cfg.taps:
        raise KeyError(
            f"{name}'s module {tap!r} is not among the profile's cached taps {cfg.taps}"
        )
    return SplitInputs(
        images.meta, cached=features.profile_activations(cfg, images, name)[tap]
    )


@torch.no_grad()
def predict(model: nn.Module, batches, device: str = "cpu", fn=None) -> np.ndarray:
    """Concatenated outputs of ``fn(model, x)`` (default ``model(x)``) over ``batches``,
    in order."""
    model.to(device).eval()
    out = []
    for x, _ in batches(0) if callable(batches) else batches:
        y = model(x.to(device)) if fn is None else fn(model, x.to(device))
        out.append(y.float().cpu().numpy())
    return np.concatenate(out)


def outputs(model: nn.Module, x: SplitInputs, cfg, fn=None) -> np.ndarray:
    """``model``'s outputs (or ``fn(model, batch)``) for every row of ``x``, in order,
    batched as the profile says: logits, unit vectors or embeddings."""
    return predict(model, x.batches(None, 2 * cfg.batch_size), cfg.device, fn)


def head_outputs(model: nn.Module, x: SplitInputs, cfg) -> dict:
    """``{head: outputs}`` of a network ending in a :class:`MultiHead`, for every row of
    ``x``."""
    sizes = {k: h.out_features for k, h in model.head.heads.items()}
    flat = outputs(
        model, x, cfg, fn=lambda m, b: torch.cat([v.float() for v in m(b).values()], 1)
    )
    return dict(
        zip(sizes, np.split(flat, np.cumsum(list(sizes.values()))[:-1], axis=1))
    )
