"""The training loop every chapter reuses.

``fit`` trains any model whose loss is computed by ``loss_fn(model, x, y)``: classification over
geocells, coordinate regression and contrastive embeddings all fit this shape. It gives:

* device auto-selection (CUDA > MPS > CPU) and bfloat16 autocast on CUDA;
* seeding, deterministic algorithms on CPU, and a per-epoch shuffling seed, so a resumed run
  sees exactly the batches an uninterrupted one would;
* a checkpoint written atomically after every epoch (model, optimiser, scheduler, history, best
  weights): run the same call again and it resumes, or returns at once if it had finished;
  :func:`run` names it by everything that determines the run (:class:`Recipe`, model, loss, data),
  so changing any of them trains anew instead of returning a stale model;
* early stopping on a validation metric, restoring the best weights;
* tqdm progress and per-epoch throughput (images/s) in the history.
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import cache, files
from .progress import bar


def select_device(preference: str = "auto") -> str:
    import torch

    if preference != "auto":
        if preference.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"device {preference!r} requested but CUDA is not available")
        return preference
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def distributed() -> tuple:
    """(rank, world size) of this process: (0, 1) unless torch.distributed is initialised (torchrun)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def seed_everything(seed: int, deterministic: bool = True) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


@dataclass
class History:
    epochs: list = field(default_factory=list)  # one dict per epoch
    best_epoch: int = -1
    best_score: float | None = None
    stopped_early: bool = False

    def column(self, name: str) -> list:
        return [e.get(name) for e in self.epochs]

    @property
    def train_seconds(self) -> float:
        """Time the training took when it ran (also when this history was read from a checkpoint)."""
        return float(sum(e.get("seconds", 0.0) for e in self.epochs))


def _run_epoch(model, data, loss_fn, device, optimizer, autocast, desc=""):
    import torch

    train = optimizer is not None
    model.train(train)
    total, count, start = 0.0, 0, time.perf_counter()
    progress = bar(data, desc=desc)
    with torch.set_grad_enabled(train):
        for x, y in progress:
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True) if hasattr(y, "to") else y
            with autocast():
                loss = loss_fn(model, x, y)
            if train:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            total += float(loss.detach()) * len(x)
            count += len(x)
            progress.set_postfix(loss=f"{total / count:.4f}")
    seconds = time.perf_counter() - start
    return total / max(count, 1), count / max(seconds, 1e-9)


def fit(model, train_data, val_data, loss_fn, optimizer, *, epochs: int, device: str = "cpu",
        scheduler=None, evaluate=None, monitor: str = "val_loss", mode: str = "min", patience: int | None = None,
        checkpoint: str | Path | None = None, seed: int = 0, desc: str = "train", meta: dict | None = None):
    """Train ``model`` and return its :class:`History`; the model ends with its best weights.

    ``train_data``/``val_data``: callables ``epoch -> iterable of (x, y)`` (so each epoch can
    shuffle with its own seed) or plain iterables. ``evaluate(model) -> dict`` adds validation
    metrics to each epoch; ``monitor`` names the value (``val_loss`` or one of those metrics) that
    early stopping and best-weight selection follow, minimised or maximised by ``mode``.
    Calling again with a larger ``epochs`` continues a finished run from its checkpoint.
    ``meta`` is stored in the checkpoint: what a reader needs to rebuild and use the model.
    """
    import torch

    if mode not in ("min", "max"):
        raise ValueError("mode must be 'min' or 'max'")
    seed_everything(seed, deterministic=not device.startswith("cuda"))
    model.to(device)
    rank, world = distributed()
    net = model  # what the training steps call: the model itself, or its DistributedDataParallel wrapper
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[torch.device(device).index] if device.startswith("cuda") else None)
    history, start_epoch, best_state = History(), 0, None
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        history, best_state, start_epoch = state["history"], state["best_state"], state["epoch"] + 1
        torch.set_rng_state(state["torch_rng"])
        if history.stopped_early or start_epoch >= epochs:
            model.load_state_dict(best_state)
            return history

    amp = device.startswith("cuda")

    def autocast():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp)

    def batches(data, epoch):
        return data(epoch) if callable(data) else data

    better = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
    for epoch in range(start_epoch, epochs):
        t0 = time.perf_counter()
        train_loss, ips = _run_epoch(net, batches(train_data, epoch), loss_fn, device, optimizer, autocast,
                                     f"{desc} epoch {epoch + 1}/{epochs}")
        row = {"epoch": epoch + 1, "train_loss": train_loss, "train_images_per_s": ips}
        if val_data is not None:
            with torch.no_grad():
                row["val_loss"], _ = _run_epoch(model, batches(val_data, epoch), loss_fn, device, None, autocast, "val")
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                row.update(evaluate(model))
        if scheduler is not None:
            scheduler.step()
        row["seconds"] = time.perf_counter() - t0
        if world > 1:  # every process follows rank 0's numbers, so all stop (and keep weights) together
            import torch.distributed as dist

            shared = [row]
            dist.broadcast_object_list(shared, src=0)
            row = shared[0]
        history.epochs.append(row)
        score = row.get(monitor)
        if score is None:
            raise KeyError(f"monitor {monitor!r} not among epoch values {sorted(row)}")
        if history.best_score is None or better(score, history.best_score):
            history.best_score, history.best_epoch = float(score), epoch + 1
            best_state = copy.deepcopy(model.state_dict())
        elif patience is not None and epoch + 1 - history.best_epoch >= patience:
            history.stopped_early = True
        if ckpt is not None and rank == 0:
            files.torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                          "scheduler": scheduler.state_dict() if scheduler is not None else None,
                          "history": history, "best_state": best_state, "epoch": epoch,
                          "torch_rng": torch.get_rng_state(), "meta": meta}, ckpt)
        if history.stopped_early:
            break
    if world > 1:
        import torch.distributed as dist

        dist.barrier()  # rank 0 has written the last checkpoint before any process returns
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


@dataclass(frozen=True)
class Recipe:
    """How one model is trained; its repr is part of the checkpoint key."""

    name: str
    epochs: int
    lr: float = 1e-3
    top_lr_scale: float = 0.1  # the pretrained top learns this much slower than a new head
    batch_size: int = 128
    patience: int = 3
    weight_decay: float = 1e-4

    def but(self, **changes) -> "Recipe":
        """A copy with some fields changed (``recipe.but(name="x", epochs=4)``)."""
        from dataclasses import replace

        return replace(self, **changes)


def optimizer(model, recipe: Recipe):
    """AdamW with a :class:`~geosurvey.models.Network`'s pretrained ``top`` at
    ``lr * top_lr_scale`` and everything else (heads, or a model trained from scratch) at ``lr``."""
    import torch

    top = list(model.top.parameters()) if hasattr(model, "top") else []
    top_ids = {id(p) for p in top}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in top_ids]
    groups = [{"params": top, "lr": recipe.lr * recipe.top_lr_scale}, {"params": rest, "lr": recipe.lr}]
    return torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=recipe.weight_decay)


def checkpoint_key(cfg, recipe: Recipe, model, loss, data: dict) -> dict:
    """Everything that determines a training run: recipe, seed, backbone, architecture, loss
    (with its hyperparameters) and data (fingerprints of inputs and targets)."""
    return {"recipe": asdict(recipe), "seed": cfg.seed, "backbone": cfg.backbone, "top_stages": cfg.top_stages,
            "model": repr(model), "loss": repr(loss), "data": data}


def checkpoint_path(cfg, recipe: Recipe, key: dict) -> Path:
    return cfg.checkpoint_dir / f"{recipe.name}-{cache.key(key)}.pt"


def run(cfg, recipe: Recipe, model, batches, loss, evaluate, data: dict, monitor: str = "val_geoscore",
        meta: dict | None = None):
    """Fit ``model`` with ``recipe`` (cosine schedule, early stopping on ``monitor`` maximised) and
    a checkpoint named by :func:`checkpoint_key`; returns the :class:`History`.

    ``loss(outputs, targets)`` is a loss object whose repr carries its hyperparameters;
    ``evaluate(model) -> dict`` returns the monitored validation value; ``data`` identifies the inputs;
    ``meta`` (not part of the key) is stored in the checkpoint for readers such as ``geosurvey predict``.
    """
    import torch

    opt = optimizer(model, recipe)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, recipe.epochs)
    ckpt = checkpoint_path(cfg, recipe, checkpoint_key(cfg, recipe, model, loss, data))
    return fit(model, batches, None, lambda m, x, y: loss(m(x), y), opt, epochs=recipe.epochs, device=cfg.device,
               scheduler=sched, evaluate=evaluate, monitor=monitor, mode="max", patience=recipe.patience,
               checkpoint=ckpt, seed=cfg.seed, desc=recipe.name,
               meta={"backbone": cfg.backbone, "top_stages": cfg.top_stages, "input_px": cfg.input_px,
                     "profile": cfg.name, **(meta or {})})
