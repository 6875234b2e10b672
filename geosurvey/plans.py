"""A training run described before it runs: what a job hands to the training loop.

A :class:`Plan` holds everything that determines one run: the recipe, a builder of the
fresh model, the loss, the identity of its data, the settings of its chapter, and (for a
run that starts from another run's weights) the key of that run. Its checkpoint key is
computed from these alone, so ``geosurvey fit --list --keys`` can say which file a
chapter will load without training anything; the batches, the validation scores and the
starting weights are callables, evaluated only when the run actually trains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from . import cache, metrics, train
from .inputs import SplitInputs


@dataclass
class Init:
    """Start from another run's weights: that run's key, and how to get its weights
    (which may train it first)."""

    key: str
    weights: Callable[[], dict]


@dataclass
class Plan:
    name: str  # the job's name, which starts the checkpoint's file name
    recipe: train.Recipe
    build: Callable  # () -> a fresh, seeded model
    loss: object  # loss(outputs, targets); its repr carries its hyperparameters
    # identity of the inputs and targets (fingerprints, or the keys of other runs)
    data: dict
    batches: Callable  # () -> (epoch -> training batches)
    # () -> (model -> {monitor value: score}) on each regime's validation split
    evaluate: Callable
    monitors: dict  # {regime key: the epoch value its best epoch is chosen by}
    settings: dict = field(default_factory=dict)  # the chapter's settings
    init: Init | None = None
    # () -> (epoch -> validation batches), for a val loss
    val_batches: Callable | None = None
    meta: dict = field(
        default_factory=dict
    )  # stored in the checkpoint, not part of the key


def key(cfg, plan: Plan, model=None) -> dict:
    """Everything that determines the run: recipe, seed, backbone and input size,
    architecture, loss, data, the chapter's settings and the run it starts from."""
    model = plan.build() if model is None else model
    return {
        "recipe": asdict(plan.recipe),
        "seed": cfg.seed,
        "backbone": cfg.backbone,
        "input_px": cfg.input_px,
        "model": cache.described(model),
        "loss": cache.described(plan.loss),
        "data": plan.data,
        "settings": plan.settings,
        "monitors": plan.monitors,
        "init": None if plan.init is None else plan.init.key,
    }


def digest(cfg, plan: Plan, model=None) -> str:
    return cache.key(key(cfg, plan, model))


def path(cfg, plan: Plan, model=None):
    return cfg.checkpoint_dir / f"{plan.name}-{digest(cfg, plan, model)}.pt"


def run(cfg, plan: Plan):
    """Train (or resume, or load) the planned model: a
    :class:`~geosurvey.train.Trained`.

    Cosine schedule over the recipe's epochs, AdamW with the pretrained top at its
    smaller learning rate, early stopping when no regime's validation score improved for
    the recipe's patience; the best epoch of each regime is kept.
    """
    import torch

    model = plan.build()
    ckpt = path(cfg, plan, model)
    if plan.init is not None and not ckpt.exists():
        train.load_trainable(model, plan.init.weights())
    opt = train.optimizer(model, plan.recipe)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, plan.recipe.epochs)
    return train.fit(
        model,
        plan.batches(),
        plan.val_batches() if plan.val_batches else None,
        lambda m, x, y: plan.loss(m(x), y),
        opt,
        epochs=plan.recipe.epochs,
        device=cfg.device,
        scheduler=sched,
        evaluate=plan.evaluate(),
        monitors=plan.monitors,
        mode="max",
        patience=plan.recipe.patience,
        checkpoint=ckpt,
        seed=cfg.seed,
        desc=plan.name,
        meta={
            "backbone": cfg.backbone,
            "top_stages": cfg.top_stages,
            "input_px": cfg.input_px,
            "profile": cfg.name,
            **plan.meta,
        },
    )


def coordinates(x: SplitInputs) -> np.ndarray:
    return np.stack([x.lat, x.lon], 1).astype(np.float32)


def val_scores(ctx, predict, x=None):
    """``model -> {"<val split>_geoscore", ...}`` on every judged regime's validation
    split; ``predict(model, split) -> (lat, lon)`` answers the images of ``x[split]``.
    """
    x = ctx.inputs if x is None else x

    def score(model) -> dict:
        out = {}
        for r in ctx.judged:
            v = x[r.val]
            m = metrics.evaluate(*predict(model, r.val), v.lat, v.lon)
            out.update(
                {
                    f"{r.val}_geoscore": m["geoscore"],
                    f"{r.val}_acc@750km": m["acc@750km"],
                    f"{r.val}_median_km": m["median_km"],
                }
            )
        return out

    return score


def supervised(
    ctx,
    name,
    recipe,
    settings,
    *,
    build,
    loss,
    x_train,
    targets,
    evaluate,
    data=None,
    **kw,
) -> Plan:
    """A plan whose batches are ``x_train`` with ``targets``, shuffled by the seed.

    ``x_train`` may be a callable returning the inputs (features of a model that may
    still have to be trained); then ``data`` must identify them, as they are not
    fingerprinted here."""
    ident = {"targets": cache.fingerprint(np.asarray(targets))}
    if not callable(x_train):
        ident["inputs"] = x_train.fingerprint()

    def batches():
        x = x_train() if callable(x_train) else x_train
        return x.batches(targets, recipe.batch_size, shuffle=True, seed=ctx.cfg.seed)

    return Plan(
        name=name,
        recipe=recipe,
        build=build,
        loss=loss,
        data={**ident, **(data or {})},
        batches=batches,
        evaluate=evaluate,
        monitors=kw.pop("monitors", None) or ctx.monitors(),
        settings=settings.key(),
        **kw,
    )
