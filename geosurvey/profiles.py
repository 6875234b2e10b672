"""Run profiles: every size and knob a chapter depends on, in one place.

Every chapter's ``parameters`` cell names a profile; :func:`start` turns it into a :class:`Profile`
and the train/val/test image sets. ``ci`` uses the embedded GeoTiles on a 2-core CPU in minutes;
``full`` uses the photos under ``data_root`` (OpenStreetView-5M layout) when one is given, else
GeoTiles at its full size, on a GPU.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from . import backbones
from .train import Recipe, select_device


@dataclass(frozen=True)
class Profile:
    name: str
    n_train: int
    n_val: int
    n_test: int
    backbones: tuple  # preference order: the first whose weights can be had is used
    input_px: int
    batch_size: int
    num_workers: int
    device: str = "cpu"
    data_root: str | None = None
    seed: int = 0
    tile_px: int = 64
    top_stages: int = 0  # backbone stages (CNN) or blocks (ViT) fine-tuned above the final layers
    top_lr_scale: float = 1.0  # learning rate of the pretrained top relative to a new head's
    cache_trunk: bool = True  # train on cached trunk activations (CPU) or stream images (GPU)
    taps: tuple = ()  # backbone modules whose outputs are cached in one pass
    token_tap: str | None = None  # the feature map a from-scratch hybrid ViT reads as tokens
    epochs: int = 8  # classifiers and regressors
    embedding_epochs: int = 8  # contrastive stage 1 (stage 2 gets half)
    embedding_batch: int = 512  # contrastive batches need several photos of a cell
    cell_divisors: tuple = (10, 40, 150)  # coarse/middle/fine partitions: tau_max = n_train // divisor
    tau_min_divisor: int = 1000  # tau_min = max(n_train // divisor, 2), the same at every level
    assert_claims: bool = True  # a profile too small to support any claim reports verdicts only

    @property
    def backbone(self) -> str:
        return backbones.first_available(self.backbones)

    @property
    def root(self) -> Path:
        return find_root()

    @property
    def results_dir(self) -> Path:
        return Path(os.environ.get("GEOSURVEY_RESULTS", self.root / "results"))

    @property
    def checkpoint_dir(self) -> Path:
        return Path(os.environ.get("GEOSURVEY_CHECKPOINTS", self.root / "data" / "checkpoints")) / self.name

    def cell_taus(self, n_train: int) -> dict:
        """``{"coarse"|"middle"|"fine": (tau_max, tau_min)}`` for ``n_train`` training images
        (PlaNet used 10,000 / 50 on 126 M photos; we keep the ratios of images per cell)."""
        tau_min = max(n_train // self.tau_min_divisor, 2)
        return {level: (max(n_train // d, tau_min), tau_min)
                for level, d in zip(("coarse", "middle", "fine"), self.cell_divisors)}

    def recipe(self, name: str, **changes) -> Recipe:
        """The profile's classifier recipe under a name (the checkpoint's), with any changes."""
        return Recipe(name, epochs=self.epochs, batch_size=self.batch_size, top_lr_scale=self.top_lr_scale).but(**changes)

    def results(self, chapter: str):
        from .metrics import Results

        return Results(chapter, profile=self.name, seed=self.seed, root=self.results_dir,
                       assert_claims=self.assert_claims)


PROFILES = {
    "ci": Profile("ci", n_train=6000, n_val=1000, n_test=1000, backbones=("tf_efficientnet_lite0",),
                  input_px=64, batch_size=128, num_workers=0, top_stages=0, cache_trunk=True,
                  taps=("blocks.4", "blocks.6"), token_tap="blocks.4"),
    "full": Profile("full", n_train=85000, n_val=4000, n_test=4000,
                    backbones=("vit_base_patch16_clip_224.openai", "tf_efficientnet_lite0"),
                    input_px=224, batch_size=256, num_workers=8, top_stages=2, top_lr_scale=0.1, cache_trunk=False,
                    epochs=20, embedding_epochs=20, embedding_batch=400),
}


def find_root() -> Path:
    """The book's root (the folder holding ``_toc.yml``), searched upwards from the working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists():
            return folder
    return here


def get(profile: str = "ci", device: str = "auto", data_root=None, seed: int = 0, **overrides) -> Profile:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    return dataclasses.replace(PROFILES[profile], device=select_device(device), data_root=data_root, seed=seed,
                               **overrides)


def load_splits(p: Profile) -> dict:
    """``{"train", "val", "test"}`` image sets for the profile (same interface for tiles and photos)."""
    if p.data_root:
        from .data.readers import read_osv5m

        train = read_osv5m(p.data_root, "train", limit=p.n_train + p.n_val)
        test = read_osv5m(p.data_root, "test", limit=p.n_test)
        return {"train": train.subset(range(p.n_train)), "val": train.subset(range(p.n_train, len(train))),
                "test": test}
    from .data.geotiles import GeoTilesSpec, load_geotiles

    return load_geotiles(GeoTilesSpec(n_train=p.n_train, n_val=p.n_val, n_test=p.n_test, tile_px=p.tile_px,
                                      seed=p.seed))


def start(profile: str = "ci", device: str = "auto", data_root=None, seed: int = 0, **overrides):
    """A chapter's first line: ``cfg, splits = start(profile, device, data_root, seed)``."""
    cfg = get(profile, device, data_root, seed, **overrides)
    splits = load_splits(cfg)
    sizes = "/".join(str(len(splits[k])) for k in ("train", "val", "test"))
    print(f"profile={cfg.name} device={cfg.device} seed={cfg.seed} backbone={cfg.backbone} "
          f"input={cfg.input_px}px train/val/test={sizes}")
    return cfg, splits
