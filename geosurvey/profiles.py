"""Run profiles: one set of sizes for a 2-core CPU in minutes, one for a GPU at paper scale.

Every chapter's ``parameters`` cell names a profile; :func:`get` turns it into a :class:`Profile`
and :func:`load_splits` into train/val/test image sets. ``ci`` uses the embedded GeoTiles; ``full``
uses the photos under ``data_root`` (OpenStreetView-5M layout) when one is given, else GeoTiles at
its full size.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from . import backbones
from .train import select_device


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
    top_stages: int = 1  # backbone stages (CNN) or blocks (ViT) that are fine-tuned
    cache_trunk: bool = True  # train on cached trunk activations (CPU) or stream images (GPU)
    taps: tuple = ()  # backbone modules whose cached outputs chapters read

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
        return self.root / "data" / "checkpoints" / self.name


PROFILES = {
    "ci": Profile("ci", n_train=6000, n_val=1000, n_test=1000, backbones=("tf_efficientnet_lite0",),
                  input_px=96, batch_size=128, num_workers=0, top_stages=1, cache_trunk=True,
                  taps=("blocks.5",)),
    "full": Profile("full", n_train=85000, n_val=4000, n_test=4000,
                    backbones=("vit_base_patch16_clip_224.openai", "tf_efficientnet_lite0"),
                    input_px=224, batch_size=256, num_workers=8, top_stages=2, cache_trunk=False),
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
