"""The training loop every model of the book goes through.

:func:`fit` trains any model whose loss is ``loss_fn(model, x, y)`` and returns a
:class:`Trained`. One epoch is a sequence of named steps, each a short function below:

1. **train** one pass over the epoch's batches (their order depends only on the seed and
   the epoch, so a resumed run sees the batches an uninterrupted one would);
2. **validate**: the loss on validation batches, if given, and ``evaluate(model)``, the
   validation scores, e.g. GeoScore on the validation split of each regime;
3. **select**: for every *monitor* (one per regime: ``{"seen": "val_geoscore", "new":
   "val_new_geoscore"}``) keep the weights of its best epoch, so each regime's model is
   chosen on its own validation split;
4. **stop early** once no monitor improved for ``patience`` epochs;
5. **checkpoint** atomically (model, optimiser, scheduler, history, best weights, random
   state): calling :func:`fit` again resumes, or returns at once when the run had
   finished.

Under ``torchrun`` the model is wrapped in DistributedDataParallel, every process
follows rank 0's validation numbers, and rank 0 writes the checkpoint. On CUDA the
forward pass runs in bfloat16 autocast.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from . import files, timings
from .progress import bar


def select_device(preference: str = "auto") -> str:
    if preference != "auto":
        if preference.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {preference!r} requested but CUDA is not available"
            )
        return preference
    if torch.cuda.is_available():
        return "cuda"
    if (
        getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available()
    ):
        return "mps"
    return "cpu"


def distributed() -> tuple:
    """(rank, world size) of this process: (0, 1) unless torch.distributed is
    initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def seed_everything(seed: int, deterministic: bool = True) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


@dataclass
class History:
    epochs: list = field(default_factory=list)  # one dict per epoch
    best: dict = field(default_factory=dict)  # monitor key -> {"epoch": e, "score": s}
    stopped_early: bool = False

    def column(self, name: str) -> list:
        return [e.get(name) for e in self.epochs]

    @property
    def train_seconds(self) -> float:
        """Time the training took when it ran (also when read back from a
        checkpoint)."""
        return float(sum(e.get("seconds", 0.0) for e in self.epochs))


def trainable_state(model) -> dict:
    """A copy of the weights that training changes: all but a frozen ``trunk``'s."""
    return {
        k: v.detach().clone()
        for k, v in model.state_dict().items()
        if not k.startswith("trunk.")
    }


def load_trainable(model, state: dict) -> None:
    missing, unexpected = model.load_state_dict(state, strict=False)
    wrong = unexpected + [k for k in missing if not k.startswith("trunk.")]
    if wrong:
        raise KeyError(f"weights do not fit the model: {wrong[:5]}")


@dataclass
class Trained:
    """A trained model, its history and the best weights for each monitor (regime)."""

    model: object
    history: History
    states: dict  # monitor key -> trainable state of its best epoch
    path: Path | None = None

    def net(self, regime: str = "seen"):
        """The model with the weights chosen on ``regime``'s validation split (the first
        monitor's when the run had no such monitor, e.g. an eval set)."""
        state = self.states.get(regime) or next(iter(self.states.values()))
        load_trainable(self.model, state)
        return self.model


def _batches(data, epoch):
    return data(epoch) if callable(data) else data


def run_epoch(model, data, loss_fn, device, optimizer=None, desc=""):
    """One pass over ``data``; trains when an ``optimizer`` is given. (mean loss,
    images/s)."""
    model.train(optimizer is not None)
    total, count, start = 0.0, 0, time.perf_counter()
    progress = bar(data, desc=desc)
    with torch.set_grad_enabled(optimizer is not None):
        for x, y in progress:
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True) if hasattr(y, "to") else y
            with torch.autocast(
                "cuda", torch.bfloat16, enabled=device.startswith("cuda")
            ):
                loss = loss_fn(model, x, y)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            total += float(loss.detach()) * len(x)
            count += len(x)
            progress.set_postfix(loss=f"{total / count:.4f}")
    return total / max(count, 1), count / max(time.perf_counter() - start, 1e-9)


@dataclass
class _Loop:
    """The state one run carries from epoch to epoch, and what each epoch calls."""

    model: object
    optimizer: object
    scheduler: object
    monitors: dict
    mode: str
    device: str
    train_data: object = None
    val_data: object = None
    loss_fn: object = None
    evaluate: object = None
    seed: int = 0
    history: History = field(default_factory=History)
    states: dict = field(default_factory=dict)
    start: int = 0

    def __post_init__(self):
        if self.mode not in ("min", "max"):
            raise ValueError("mode must be 'min' or 'max'")
        seed_everything(self.seed, deterministic=not self.device.startswith("cuda"))
        self.model.to(self.device)

    def better(self, a, b) -> bool:
        return a < b if self.mode == "min" else a > b

    def select(self, row: dict, epoch: int) -> None:
        for key, name in self.monitors.items():
            if name not in row:
                raise KeyError(f"monitor {name!r} not among epoch values {sorted(row)}")
            best = self.history.best.get(key)
            if best is None or self.better(row[name], best["score"]):
                self.history.best[key] = {"epoch": epoch + 1, "score": float(row[name])}
                self.states[key] = trainable_state(self.model)

    def record(self, row: dict, epoch: int, patience) -> None:
        """Keep the epoch's values, each monitor's best weights, and whether to stop."""
        self.history.epochs.append(row)
        self.select(row, epoch)
        since = [epoch + 1 - b["epoch"] for b in self.history.best.values()]
        stop = patience is not None and all(s >= patience for s in since)
        self.history.stopped_early = stop

    def finish(self, path) -> Trained:
        load_trainable(self.model, next(iter(self.states.values())))
        return Trained(self.model, self.history, self.states, path)


def _resume(loop: _Loop, ckpt: Path | None) -> bool:
    """Load a checkpoint into ``loop``; True when that run had finished."""
    if ckpt is None or not ckpt.exists():
        return False
    state = torch.load(ckpt, map_location=loop.device, weights_only=False)
    loop.model.load_state_dict(state["model"])
    loop.optimizer.load_state_dict(state["optimizer"])
    if loop.scheduler is not None and state.get("scheduler") is not None:
        loop.scheduler.load_state_dict(state["scheduler"])
    loop.history, loop.states, loop.start = (
        state["history"],
        state["states"],
        state["epoch"] + 1,
    )
    torch.set_rng_state(state["torch_rng"])
    return loop.history.stopped_early


def _save(loop: _Loop, ckpt: Path | None, epoch: int, meta) -> None:
    if ckpt is None or distributed()[0] != 0:
        return
    sched = loop.scheduler.state_dict() if loop.scheduler is not None else None
    files.torch_save(
        {
            "model": loop.model.state_dict(),
            "optimizer": loop.optimizer.state_dict(),
            "scheduler": sched,
            "history": loop.history,
            "states": loop.states,
            "epoch": epoch,
            "torch_rng": torch.get_rng_state(),
            "meta": meta,
        },
        ckpt,
    )


def _wrap(model, device: str):
    """The module the training steps call: the model, or its DDP wrapper under
    torchrun."""
    if distributed()[1] == 1:
        return model
    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)


def _agree(row: dict) -> dict:
    """Under torchrun every process takes rank 0's epoch values, so all stop
    together."""
    if distributed()[1] == 1:
        return row
    shared = [row]
    dist.broadcast_object_list(shared, src=0)
    return shared[0]


def _validate(loop: _Loop, epoch) -> dict:
    row = {}
    if loop.val_data is not None:
        with torch.no_grad():
            row["val_loss"], _ = run_epoch(
                loop.model,
                _batches(loop.val_data, epoch),
                loop.loss_fn,
                loop.device,
                desc="val",
            )
    if loop.evaluate is not None:
        loop.model.eval()
        with torch.no_grad():
            row.update(loop.evaluate(loop.model))
    return row


def _epoch(loop: _Loop, net, epoch: int, label: str) -> dict:
    """Train one epoch, validate, step the schedule: the epoch's values (rank 0's)."""
    t0 = time.perf_counter()
    with timings.span("epochs"):
        loss, ips = run_epoch(
            net,
            _batches(loop.train_data, epoch),
            loop.loss_fn,
            loop.device,
            loop.optimizer,
            label,
        )
    with timings.span("validation"):
        validated = _validate(loop, epoch)
    row = {
        "epoch": epoch + 1,
        "train_loss": loss,
        "train_images_per_s": ips,
        **validated,
    }
    if loop.scheduler is not None:
        loop.scheduler.step()
    return _agree({**row, "seconds": time.perf_counter() - t0})


def fit(
    model,
    train_data,
    val_data,
    loss_fn,
    optimizer,
    *,
    epochs: int,
    device: str = "cpu",
    scheduler=None,
    evaluate=None,
    monitors=None,
    mode: str = "min",
    patience: int | None = None,
    checkpoint=None,
    seed: int = 0,
    desc: str = "train",
    meta: dict | None = None,
) -> Trained:
    """Train ``model`` (see the module doc): a :class:`Trained` holding the first
    monitor's best weights. ``train_data``/``val_data``: ``epoch -> batches``, or
    iterables; ``monitors``: ``{key: epoch value}`` to select on (default ``{"seen":
    "val_loss"}``)."""
    monitors = monitors or {"seen": "val_loss"}
    loop = _Loop(model, optimizer, scheduler, monitors, mode, device, seed=seed)
    loop.train_data, loop.val_data, loop.loss_fn, loop.evaluate = (
        train_data,
        val_data,
        loss_fn,
        evaluate,
    )
    ckpt = Path(checkpoint) if checkpoint else None
    if _resume(loop, ckpt) or loop.start >= epochs:
        return loop.finish(ckpt)
    net = _wrap(model, device)
    for epoch in range(loop.start, epochs):
        row = _epoch(loop, net, epoch, f"{desc} epoch {epoch + 1}/{epochs}")
        loop.record(row, epoch, patience)
        with timings.span("checkpoint"):
            _save(loop, ckpt, epoch, meta)
        if loop.history.stopped_early:
            break
    if distributed()[1] > 1:  # under torchrun: rank 0 has saved before any returns
        dist.barrier()
    return loop.finish(ckpt)


@dataclass(frozen=True)
class Recipe:
    """How one model is trained; part of its checkpoint key."""

    epochs: int
    lr: float = 1e-3
    # the pretrained top learns this much slower than a new head
    top_lr_scale: float = 0.1
    batch_size: int = 128
    patience: int = 3
    weight_decay: float = 1e-4


def optimizer(model, recipe: Recipe):
    """AdamW with a :class:`~geosurvey.models.Network`'s pretrained ``top`` at ``lr *
    top_lr_scale`` and everything else (heads, or a model trained from scratch) at
    ``lr``; frozen parameters are left out."""
    top = (
        [p for p in model.top.parameters() if p.requires_grad]
        if hasattr(model, "top")
        else []
    )
    top_ids = {id(p) for p in top}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in top_ids]
    groups = [
        {"params": top, "lr": recipe.lr * recipe.top_lr_scale},
        {"params": rest, "lr": recipe.lr},
    ]
    return torch.optim.AdamW(
        [g for g in groups if g["params"]], weight_decay=recipe.weight_decay, fused=True
    )
