"""Run profiles: every size and knob a chapter depends on, in one place.

Every chapter's ``parameters`` cell names a profile; :func:`start` turns it into a :class:`Profile`
and the train/val/test image sets. ``ci`` uses the embedded GeoTiles on a 2-core CPU in minutes;
``full`` uses the photos under ``data_root`` (OpenStreetView-5M layout) when one is given, else
GeoTiles at its full size, on a GPU; ``photos`` runs the ``full`` code path (photos decoded by
DataLoader workers, the trunk streamed) at a size a CPU executes in seconds per chapter.
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
    token_tap: str = "blocks.4"  # the (stride-16) feature map a from-scratch hybrid ViT reads as tokens
    epochs: int = 8  # classifiers and regressors
    embedding_epochs: int = 8  # contrastive stage 1 (stage 2 gets half)
    embedding_batch: int = 512  # contrastive batches need several photos of a cell
    cell_divisors: tuple = (10, 40, 150)  # coarse/middle/fine partitions: tau_max = n_train // divisor
    tau_min_divisor: int = 1000  # tau_min = max(n_train // divisor, 2), the same at every level
    assert_claims: bool = True  # only the ci profile on GeoTiles asserts claims (get()); others report verdicts
    n_unseen: int = 500  # GeoTiles test places farther than unseen_km from every training location
    unseen_km: float = 100.0
    bad_image_tolerance: float = 0.01  # share of a photo split that may be unreadable (skipped and reported)
    eval_root: str | None = None  # an im2gps-style test set (CSV + images) evaluated beside the test split
    only_present: bool = False  # photos: use only the rows whose image is there (a partial download)

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

    def partitions(self, train):
        """The book's three nested adaptive partitions of the training locations:
        ``({"coarse"|"middle"|"fine": Partition}, Hierarchy)``."""
        from .cells import hierarchy

        taus = self.cell_taus(len(train))
        hier = hierarchy(train.lat, train.lon, [t[0] for t in taus.values()], tau_min=taus["middle"][1])
        return dict(zip(taus, hier.partitions)), hier

    def geotiles_spec(self):
        """The GeoTiles this profile renders (its sizes, tile size and seed)."""
        from .data.geotiles import GeoTilesSpec

        return GeoTilesSpec(n_train=self.n_train, n_val=self.n_val, n_test=self.n_test, tile_px=self.tile_px,
                            seed=self.seed)

    def recipe(self, name: str, **changes) -> Recipe:
        """The profile's classifier recipe under a name (the checkpoint's), with any changes."""
        return Recipe(name, epochs=self.epochs, batch_size=self.batch_size, top_lr_scale=self.top_lr_scale).but(**changes)

    def results(self, chapter: str, splits: dict | None = None):
        """The chapter's :class:`~geosurvey.metrics.Results`; with ``splits``, the images any
        reader skipped are reported in its results file."""
        from .metrics import Results

        return Results(chapter, profile=self.name, seed=self.seed, root=self.results_dir,
                       assert_claims=self.assert_claims, images=splits)


PROFILES = {
    "ci": Profile("ci", n_train=6000, n_val=1000, n_test=1000, backbones=("tf_efficientnet_lite0",),
                  input_px=64, batch_size=128, num_workers=0, top_stages=0, cache_trunk=True,
                  taps=("blocks.4", "blocks.6")),
    "full": Profile("full", n_train=85000, n_val=4000, n_test=4000, n_unseen=2000,
                    backbones=("vit_base_patch16_clip_224.openai", "tf_efficientnet_lite0"),
                    input_px=224, batch_size=256, num_workers=8, top_stages=2, top_lr_scale=0.1, cache_trunk=False,
                    epochs=20, embedding_epochs=20, embedding_batch=400),
    # The paper-scale code path (photos decoded by DataLoader workers, the trunk streamed) at a size
    # a CPU runs in seconds per chapter: a smoke test of the full profile, too small for any claim.
    "photos": Profile("photos", n_train=64, n_val=16, n_test=16, n_unseen=0, backbones=("tf_efficientnet_lite0",),
                      input_px=160, batch_size=16, num_workers=2, top_stages=1, top_lr_scale=0.1, cache_trunk=False,
                      epochs=1, embedding_epochs=2, embedding_batch=32, assert_claims=False),
}
MIN_SIZES = {"train": 20, "val": 4, "test": 4}  # below these a split cannot train or be evaluated


def find_root() -> Path:
    """The book's root (the folder holding ``_toc.yml``), searched upwards from the working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists():
            return folder
    return here


def get(profile: str = "ci", device: str = "auto", data_root=None, seed: int = 0, sizes=None, eval_root=None,
        **overrides) -> Profile:
    """The named profile for this run. ``sizes`` (``{"train": n, "val": n, "test": n}``, any subset)
    overrides its split sizes, which are upper bounds: a smaller dataset is used whole."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    for k, v in (sizes or {}).items():
        if k not in ("train", "val", "test") or int(v) < 1:
            raise ValueError(f"sizes: {k}={v}; give positive sizes for train, val and/or test")
        overrides[f"n_{k}"] = int(v)
    overrides.setdefault("assert_claims", profile == "ci" and not data_root)  # where the claims were established
    return dataclasses.replace(PROFILES[profile], device=select_device(device), data_root=data_root or None, seed=seed,
                               eval_root=eval_root or None, **overrides)


def load_splits(p: Profile) -> dict:
    """``{"train", "val", "test"[, "unseen"][, "eval"]}`` image sets for the profile (the same interface
    for tiles and photos). GeoTiles adds ``unseen``, test places far from every training location;
    an ``eval_root`` adds ``eval``, an im2gps-style test set."""
    splits = _photo_splits(p) if p.data_root else _geotiles_splits(p)
    for name, images in splits.items():
        if len(images) < MIN_SIZES.get(name, 1):
            raise ValueError(f"the {name} split has {len(images)} usable images; at least {MIN_SIZES.get(name, 1)} are needed "
                             f"(data_root={p.data_root})")
    if p.eval_root and not p.data_root:  # a photo root's reader places the eval set itself
        from .data.readers import read_eval_root

        splits["eval"] = read_eval_root(p.eval_root, tolerance=p.bad_image_tolerance)
    return splits


def _geotiles_splits(p: Profile) -> dict:
    from .data.geotiles import load_geotiles, load_unseen

    spec = p.geotiles_spec()
    splits = load_geotiles(spec)
    if p.n_unseen:
        splits["unseen"] = load_unseen(spec, p.n_unseen, p.unseen_km)
    return splits


def _photo_splits(p: Profile) -> dict:
    """Photos in OpenStreetView-5M or MP-16 layout (:func:`~geosurvey.data.readers.read_data_root`):
    validation carved from the training rows by a seeded shuffle (the file may be ordered by
    region), test drawn the same way; sizes are upper bounds."""
    from .data.readers import read_data_root

    sets = read_data_root(p.data_root, n_train=p.n_train + p.n_val, n_test=p.n_test, seed=p.seed,
                          tolerance=p.bad_image_tolerance, only_present=p.only_present, eval_root=p.eval_root)
    train_all, test = sets.pop("train"), sets["test"]
    short = len(train_all) < p.n_train + p.n_val  # then a tenth goes to validation, the rest to training
    n_val = min(p.n_val, max(len(train_all) // 10, 1)) if short else p.n_val
    n_train = min(p.n_train, len(train_all) - n_val)
    if short or len(test) < p.n_test:
        print(f"{p.data_root} holds fewer photos than the {p.name!r} profile asks for: using train {n_train}, "
              f"val {n_val}, test {len(test)} (profile: {p.n_train}, {p.n_val}, {p.n_test})")
    return {"train": train_all.subset(range(n_train)), "val": train_all.subset(range(n_train, n_train + n_val)),
            **sets}


def start(profile: str = "ci", device: str = "auto", data_root=None, seed: int = 0, sizes=None, eval_root=None,
          **overrides):
    """A chapter's first line: ``cfg, splits = start(profile, device, data_root, seed, sizes, eval_root)``."""
    cfg = get(profile, device, data_root, seed, sizes, eval_root, **overrides)
    splits = load_splits(cfg)
    counts = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
    skipped = sum(len(v.skipped) for v in splits.values())
    print(f"profile={cfg.name} device={cfg.device} seed={cfg.seed} backbone={cfg.backbone} "
          f"input={cfg.input_px}px; images: {counts}" + (f"; {skipped} unreadable images skipped" if skipped else ""))
    return cfg, splits
