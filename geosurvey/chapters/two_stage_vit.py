"""Chapter 4, Wu's two-stage ViT: its settings and the embeddings it trains.

Stage 1 trains Model 1 (the CNN) and Model 2 (the ViT) with the supervised contrastive
loss on the middle cells; stage 2 fine-tunes one of them with the squared triplet loss
of Eq. (2); a control continues stage 1 for as many epochs with the contrastive loss, so
that "the triplet stage helps" is not "more training helps"; the appendix's hierarchical
loss and its progressive multi-stage schedule (Table 7) are adapted to the book's three
levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import backbones, cells, folds, geo, inputs, losses, models, plans, regimes
from ..baselines import FROZEN, PRIOR, answering_k
from ..claims import Claim, on_new_ground
from ..plans import Init
from ..retrieval import GeoIndex, choose_k, knn_predict
from .base import ChapterSpec, Job, Settings, knob
from .planet import partitions, regressed, regression

NAME = "two_stage_vit"
# stage 1's job per model; "no attention" is the hybrid ViT's control, trained only
# where Model 2 is the hybrid
STAGE1 = {
    "CNN": "two-stage-cnn",
    "ViT": "two-stage-vit",
    "no attention": "two-stage-no-attention",
}
# the methods the chapter's claims compare, answered by k-NN ("<method>, top-1" and
# "<method>, k-NN"); {base} is the model stage 2 starts from, CNN or ViT
LABELS = {
    "CNN": "stage 1 CNN",
    "ViT": "stage 1 ViT",
    "no attention": "stage 1 ViT without attention",
}
TRIPLET, CONTROL = "two-stage {base}", "stage 1 {base}, continued"
HIER, MULTI = "stage 1 CNN, hierarchical", "multi-stage"

TABLE7_DATA = (10, 97, 30, 60)  # folders of 50k images per stage in Wu's Table 7
OSV5M_FOLDERS = 98  # OpenStreetView-5M's training images come in 98 folders


@dataclass(frozen=True)
class TwoStageSettings(Settings):
    epochs: int = knob(8, "epochs of stage 1 (at most)")
    stage2_epochs: int = knob(4, "epochs of stage 2 and of its contrastive control")
    batch_size: int = knob(512, "images per contrastive batch (several of each cell)")
    lr: float = knob(1e-3, "learning rate of the projection head")
    top_lr_scale: float = knob(
        1.0, "a pretrained top's learning rate, relative to the head's"
    )
    stage2_lr: float = knob(3e-4, "learning rate of stage 2 and of its control")
    patience: int = knob(
        3, "epochs without a better validation GeoScore before stopping"
    )
    tau: float = knob(0.07, "temperature of the supervised contrastive loss")
    margin: float = knob(0.2, "margin m of the triplet loss (Wu's Eq. 2)")
    out_dim: int = knob(256, "embedding dimension (Wu 2025, line 54)")
    head_dropout: float = knob(
        0.3, "dropout of the two-layer projection head (Wu 2025, line 54)"
    )
    cnn_top: int | None = knob(
        None,
        "stages of Model 1's top fine-tuned (none: the profile's; Wu 2025, line 144: "
        "the top two)",
    )
    vit_top: int | None = knob(
        None,
        "blocks of a pretrained Model 2 fine-tuned (none: the profile's; Wu 2025, "
        "line 145: the top four)",
    )
    hierarchical_weights: tuple = knob(
        (1.0, 0.3, 0.05),
        "coarse, middle, fine weights of the hierarchical loss (Table 7, stage 2)",
    )
    multistage_top: int = knob(
        1, "stages (CNN) or blocks (ViT) of the top the first multi-stage stage trains"
    )
    multistage_frozen: tuple = knob(
        (0, 1, 1, -1),
        "of those, how many each multi-stage stage freezes "
        "(-1: all, only the head trains)",
    )
    multistage_batch: tuple = knob(
        (64, 256, 512, 1024), "batch size of each multi-stage stage"
    )
    multistage_weights: tuple = knob(
        ((1.0, 0.3, 0.05), (1.0, 0.3, 0.1), (0.8, 0.35, 0.15)),
        "level weights of stages 2-4 (Table 7, first three levels)",
    )
    multistage_passes: int = knob(
        2,
        "passes over each stage's share of the training images "
        "(Table 7's folders of 98)",
    )
    warmup_weight: float = knob(
        1.0, "weight of the haversine alignment term in the warm-up stage"
    )
    vit_dim: int = knob(64, "width of the from-scratch hybrid ViT")
    vit_depth: int = knob(2, "transformer blocks of the hybrid ViT")
    ks: tuple = knob(
        (1, 3, 5, 10, 20, 50),
        "numbers of neighbours the weighted k-NN chooses from on validation",
    )

    PROFILES = {
        "full": {
            "cnn_top": 2,
            "vit_top": 4,
            "epochs": 15,
            "stage2_epochs": 5,
            "batch_size": 400,
            "lr": 1e-4,
            "top_lr_scale": 0.1,
            "stage2_lr": 1e-4,
            "multistage_batch": (16, 128, 256, 1024),
            "multistage_top": 12,
            "multistage_frozen": (0, 6, 8, 11),
            "multistage_passes": 1,
        },
        "photos": {
            "epochs": 2,
            "stage2_epochs": 1,
            "batch_size": 32,
            "top_lr_scale": 0.1,
            "multistage_batch": (8, 16, 32, 32),
            "multistage_passes": 1,
        },
    }

    def multistage_shares(self) -> tuple:
        """The share of the training images each multi-stage stage trains on: Table 7's
        folders of OpenStreetView-5M's 98 (10, 97, 30 and 60), one pass each in the
        paper."""
        return tuple(min(1.0, d / OSV5M_FOLDERS) for d in TABLE7_DATA)

    def multistage_layers(self) -> tuple:
        """What each multi-stage stage trains, in words (``multistage_frozen`` of the
        ``multistage_top`` top stages or blocks)."""

        def words(frozen: int) -> str:
            if frozen < 0:
                return "head only"
            n = self.multistage_top - frozen
            top = {0: "", 1: "last stage, "}.get(n, f"last {n} stages, ")
            return top + "final layers, head"

        return tuple(words(f) for f in self.multistage_frozen)


def knn_scores(ctx, x: dict):
    """``model -> scores`` of top-1 k-NN retrieval against the training embeddings."""

    def predict(model, split):
        index = GeoIndex(
            inputs.outputs(model, x["train"], ctx.cfg), x["train"].lat, x["train"].lon
        )
        return knn_predict(index, inputs.outputs(model, x[split], ctx.cfg), 1)

    return plans.val_scores(ctx, predict, x)


def embedding(
    ctx,
    name,
    recipe,
    settings,
    *,
    build,
    x: dict,
    targets,
    loss,
    init: Init | None = None,
    val_targets=None,
    rows=None,
    monitors=None,
) -> plans.Plan:
    """Train a network ending in a projection head with ``loss(z, targets)``, monitoring
    top-1 k-NN GeoScore per regime against the whole training set; ``rows``: train on
    these training rows only (``targets`` are theirs); ``val_targets`` (the same kind of
    targets for the validation split) adds a validation loss per epoch, as Wu's
    Fig. 2 plots it; ``monitors``: what its epochs are chosen by (default: each
    regime's validation GeoScore)."""

    def val():
        return x[ctx.val].batches(
            val_targets, recipe.batch_size, shuffle=True, seed=ctx.cfg.seed
        )

    train = x["train"] if rows is None else x["train"].subset(rows)
    return plans.supervised(
        ctx,
        name,
        recipe,
        settings,
        build=build,
        loss=loss,
        x_train=train,
        targets=targets,
        evaluate=lambda: knn_scores(ctx, x),
        init=init,
        val_batches=None if val_targets is None else val,
        monitors=monitors,
    )


def embedding_models(ctx) -> dict:
    """``{"CNN": EmbeddingModel, "ViT": EmbeddingModel}``: Wu's Model 1 and
    Model 2, and where Model 2 is the hybrid ViT, its control without attention
    (``"no attention"``)."""
    return ctx.memo("two_stage:candidates", lambda: _embedding_models(ctx))


def _embedding_models(ctx) -> dict:
    s = ctx.settings(NAME)
    found = {
        "CNN": models.cnn_embedding_model(
            ctx.cfg, s.out_dim, top_stages=s.cnn_top, dropout=s.head_dropout
        ),
        "ViT": models.vit_embedding_model(
            ctx.cfg,
            s.out_dim,
            dim=s.vit_dim,
            depth=s.vit_depth,
            top_stages=s.vit_top,
            dropout=s.head_dropout,
        ),
    }
    if not found["ViT"].pretrained:
        found["no attention"] = models.hybrid_embedding_model(
            ctx.cfg,
            s.out_dim,
            dim=s.vit_dim,
            depth=s.vit_depth,
            dropout=s.head_dropout,
            attention=False,
        )
    return found


def stage2_base(ctx) -> str:
    """Stage 2 fine-tunes the ViT when it is pretrained (as in the paper), else the
    CNN."""
    return "ViT" if embedding_models(ctx)["ViT"].pretrained else "CNN"


def multistage_model(ctx) -> models.EmbeddingModel:
    """Stage 2's base model, cut so that its top holds the stages the first stage
    trains."""
    s = ctx.settings(NAME)
    if stage2_base(ctx) == "ViT":
        return models.vit_embedding_model(
            ctx.cfg, s.out_dim, top_stages=s.multistage_top, dropout=s.head_dropout
        )
    return models.cnn_embedding_model(
        ctx.cfg, s.out_dim, top_stages=s.multistage_top, dropout=s.head_dropout
    )


def embedding_inputs(ctx, c: models.EmbeddingModel) -> dict:
    """What embedding model ``c`` reads for every split (cached at its tap, or
    streamed)."""
    key = f"two_stage:inputs:{c.backbone}:{c.tap}"
    return ctx.per_split(
        key,
        lambda images: inputs.of_images(ctx.cfg, images, name=c.backbone, tap=c.tap),
        take=lambda x, rows: x.subset(rows),
    )


def cell_levels(ctx, split: str) -> np.ndarray:
    """(n, 3) coarse, middle and fine cell of every image of ``split``."""
    parts, _ = partitions(ctx)
    x = ctx.splits[split]
    return cells.partition_labels(parts, x)


def _stage1(name: str, fold: bool = False):
    """Stage 1 of Model ``name``; in a fold (``fold``), trained for the recipe's
    epochs with the last kept."""

    def plan(ctx):
        s, c = ctx.settings(NAME), embedding_models(ctx)[name]
        recipe = ctx.recipe(NAME, top_lr_scale=s.top_lr_scale if c.pretrained else 1.0)
        return embedding(
            ctx,
            STAGE1[name] + "-fold" * fold,
            recipe,
            s,
            build=c.build,
            x=embedding_inputs(ctx, c),
            targets=cell_levels(ctx, "train")[:, 1],
            loss=losses.SupCon(s.tau),
            val_targets=None if fold else cell_levels(ctx, ctx.val)[:, 1],
            monitors=folds.LAST_EPOCH if fold else None,
        )

    return plan


def _continued(job: str, loss_of, targets_of, fold: bool = False):
    """Stage 2 (``loss_of``: the triplet loss) or its control (the contrastive loss),
    both from the stage-1 model, for the same epochs at the same learning rate; in a
    fold (``fold``), from that fold's stage 1, with the last epoch kept."""

    def plan(ctx):
        s, base = ctx.settings(NAME), stage2_base(ctx)
        c, first = embedding_models(ctx)[base], STAGE1[base]
        recipe = ctx.recipe(
            NAME,
            epochs=s.stage2_epochs,
            lr=s.stage2_lr,
            top_lr_scale=s.top_lr_scale if c.pretrained else 1.0,
        )
        init = folds.init(ctx, first) if fold else ctx.start_from(first)
        return embedding(
            ctx,
            job + "-fold" * fold,
            recipe,
            s,
            build=c.build,
            x=embedding_inputs(ctx, c),
            targets=targets_of(ctx, "train"),
            loss=loss_of(s),
            init=init,
            val_targets=None if fold else targets_of(ctx, ctx.val),
            monitors=folds.LAST_EPOCH if fold else None,
        )

    return plan


def stage2_embeddings(ctx) -> dict:
    """The stage-2 model's embeddings of every split, as what a head reads (computed
    once per context)."""

    def make():
        c, net = embedding_models(ctx)[stage2_base(ctx)], ctx.net("two-stage-triplet")
        return {
            k: inputs.SplitInputs(x.meta, cached=inputs.outputs(net, x, ctx.cfg))
            for k, x in embedding_inputs(ctx, c).items()
        }

    return ctx.memo(f"two_stage:embedded:{ctx.key('two-stage-triplet')}", make)


def regression_answers(ctx, head):
    """``regime -> (lat, lon)``, what ``ch.add`` takes: each regime's regression
    ``head`` on the stage-2 embeddings of that regime's test images."""

    def answer(regime):
        z = stage2_embeddings(ctx.at(regime))[regime.test]
        return regressed(head.net(regime.key), z, ctx.cfg)

    return answer


def _regression_head(ctx):
    """Wu's optional last step (line 75): chapter 2's better regressor (the
    great-circle distance) on the frozen distance-aware embedding."""
    s = ctx.settings(NAME)
    return regression(
        ctx,
        "two-stage-regression",
        ctx.recipe(NAME),
        s,
        losses.GreatCircle(),
        x=lambda: stage2_embeddings(ctx),
        build=lambda: models.seeded(ctx.cfg.seed, models.UnitVectorHead, s.out_dim),
        data={"embedding": ctx.key("two-stage-triplet")},
    )


def triplet_activity(ctx, trained, x: dict, *, batches: int = 10) -> dict:
    """How much stage 2's triplets ask of ``trained``'s seen-places embedding, over
    random training batches of the chapter's size: the share of anchors with a positive
    loss, the mean loss, and how far the positive and the negative lie, on the ground
    and (squared) in the embedding."""
    s, train = ctx.settings(NAME), ctx.splits["train"]
    z = torch.from_numpy(inputs.outputs(trained.net("seen"), x["train"], ctx.cfg))
    rng = np.random.default_rng(ctx.cfg.seed)
    rows = []
    for _ in range(batches):
        batch = rng.choice(len(train), min(s.batch_size, len(train)), replace=False)
        lat, lon = train.lat[batch], train.lon[batch]
        triplets = losses.distance_triplets(
            torch.from_numpy(lat), torch.from_numpy(lon)
        )
        pos, neg = (i.numpy() for i in triplets)
        zb = z[batch]
        d_pos, d_neg = ((zb - zb[i]).pow(2).sum(1) for i in (pos, neg))
        loss = torch.relu(d_pos - d_neg + s.margin)
        km = [geo.haversine(lat, lon, lat[i], lon[i]).mean() for i in (pos, neg)]
        rows.append(
            {
                "anchors with a loss %": 100 * (loss > 0).float().mean().item(),
                "mean loss": loss.mean().item(),
                "positive (km)": km[0],
                "negative (km)": km[1],
                "positive, embedded distance²": d_pos.mean().item(),
                "negative, embedded distance²": d_neg.mean().item(),
            }
        )
    return pd.DataFrame(rows).mean().to_dict()


def _stage1_job(ctx) -> tuple:
    """two-stage-cnn, or two-stage-vit when the ViT is pretrained"""
    return (STAGE1[stage2_base(ctx)],)


def _coords(ctx, split):
    return plans.coordinates(ctx.inputs[split])


def _middle(ctx, split):
    return cell_levels(ctx, split)[:, 1]


def _hierarchical(ctx):
    s, c = ctx.settings(NAME), embedding_models(ctx)["CNN"]
    return embedding(
        ctx,
        "two-stage-hierarchical",
        ctx.recipe(NAME),
        s,
        build=c.build,
        x=embedding_inputs(ctx, c),
        targets=cell_levels(ctx, "train"),
        loss=losses.HierarchicalSupCon(s.hierarchical_weights, s.tau),
        val_targets=cell_levels(ctx, ctx.val),
    )


def multistage_rows(ctx, stage: int) -> np.ndarray:
    """The training rows of one multi-stage stage: its share of the images, drawn by the
    seed."""
    n = len(ctx.splits["train"])
    share = ctx.settings(NAME).multistage_shares()[stage - 1]
    rng = np.random.default_rng([ctx.cfg.seed, 17, stage])
    return np.sort(rng.choice(n, max(1, round(share * n)), replace=False))


def multistage_targets(ctx, stage: int, split: str) -> np.ndarray:
    levels = cell_levels(ctx, split)
    if stage == 1:  # the coarsest cells and the coordinates, for the warm-up loss
        return np.concatenate(
            [levels[:, :1], plans.coordinates(ctx.inputs[split])], 1
        ).astype(np.float32)
    return levels


def _multistage(stage: int):
    def plan(ctx):
        s, c = ctx.settings(NAME), multistage_model(ctx)
        frozen = s.multistage_frozen[stage - 1]

        def build():
            net = c.build()
            backbones.freeze_top(net.top, None if frozen < 0 else frozen)
            return net

        loss = (
            losses.WarmUp(s.tau, s.warmup_weight)
            if stage == 1
            else losses.HierarchicalSupCon(s.multistage_weights[stage - 2], s.tau)
        )
        recipe = ctx.recipe(
            NAME, epochs=s.multistage_passes, batch_size=s.multistage_batch[stage - 1]
        )
        rows = multistage_rows(ctx, stage)
        init = ctx.start_from(f"multi-stage-{stage - 1}") if stage > 1 else None
        p = embedding(
            ctx,
            f"multi-stage-{stage}",
            recipe,
            s,
            build=build,
            x=embedding_inputs(ctx, c),
            targets=multistage_targets(ctx, stage, "train")[rows],
            loss=loss,
            init=init,
            rows=rows,
            val_targets=multistage_targets(ctx, stage, ctx.val),
        )
        p.data["frozen_stages"] = frozen
        return p

    return plan


def _triplet(s):
    return losses.DistanceTriplet(s.margin)


JOBS = (
    Job(
        "two-stage-cnn",
        NAME,
        "stage 1, Model 1: the CNN with supervised contrastive loss "
        "on the middle cells",
        _stage1("CNN"),
        fold_plan=_stage1("CNN", fold=True),
    ),
    Job(
        "two-stage-vit",
        NAME,
        "stage 1, Model 2: the ViT (pretrained, else a hybrid trained from scratch)",
        _stage1("ViT"),
        fold_plan=_stage1("ViT", fold=True),
    ),
    Job(
        "two-stage-no-attention",
        NAME,
        "control for the hybrid ViT: its tokens through MLP blocks without "
        "attention, averaged",
        _stage1("no attention"),
    ),
    Job(
        "two-stage-triplet",
        NAME,
        "stage 2: the stage-1 model fine-tuned with the squared triplet loss",
        _continued("two-stage-triplet", _triplet, _coords),
        needs=_stage1_job,
        fold_plan=_continued("two-stage-triplet", _triplet, _coords, fold=True),
    ),
    Job(
        "two-stage-regression",
        NAME,
        "a regression head on the frozen stage-2 embedding (Wu 2025, line 75)",
        _regression_head,
        needs=("two-stage-triplet",),
    ),
    Job(
        "two-stage-control",
        NAME,
        "control: stage 1 continued with its own loss for stage 2's epochs",
        _continued("two-stage-control", lambda s: losses.SupCon(s.tau), _middle),
        needs=_stage1_job,
    ),
    Job(
        "two-stage-hierarchical",
        NAME,
        "the CNN with the hierarchical contrastive loss (Table 7 weights)",
        _hierarchical,
    ),
    *(
        Job(
            f"multi-stage-{k}",
            NAME,
            f"progressive multi-stage schedule, stage {k} of 4 (Table 7)",
            _multistage(k),
            needs=(f"multi-stage-{k - 1}",) if k > 1 else (),
        )
        for k in range(1, 5)
    ),
)


def knn_answers(ctx, trained, x: dict, regime) -> dict:
    """Wu's two inference rules for ``regime``'s test images, with that regime's
    weights: ``{"top-1": (lat, lon, 1), "k-NN": (lat, lon, k)}``, k chosen on the
    regime's validation split, or fixed on new ground (:func:`answering_k`; the
    database is the regime's training split, embedded by the same weights; ``x``: the
    inputs of every split), and ``"validation"``: the validation GeoScore of every k."""
    s, net, base = ctx.settings(NAME), trained.net(regime.key), regime.train(ctx.splits)
    emb = {
        k: inputs.outputs(net, x[k], ctx.cfg) for k in (base, regime.val, regime.test)
    }
    train = ctx.splits[base]
    index = GeoIndex(emb[base], train.lat, train.lon)
    val = ctx.splits[regime.val]
    k, scores = choose_k(index, emb[regime.val], val.lat, val.lon, s.ks)
    k = answering_k(ctx, regime, k)
    return {
        "top-1": (*knn_predict(index, emb[regime.test], 1), 1),
        "k-NN": (*knn_predict(index, emb[regime.test], k), k),
        "validation": scores,
    }


def add_fold_knn(ch, folds_of_run, methods: dict) -> None:
    """Train the embedding jobs of ``methods`` (``{job: label}``: stage 1 of a model,
    or stage 2) once per fold, on that fold's training images and cells for the
    recipe's epochs, keeping the last (stage 2 starts from the fold's stage 1), and
    evaluate each as ``"<label>, k-NN"`` on the folds' test tiles
    (:mod:`geosurvey.folds`): the weighted k-NN against the fold's training tiles, with
    the k fixed for new ground (:func:`answering_k`)."""
    by_job = {j: embedding_models(ch)[_model(ch, j)] for j in methods}
    tests = {
        j: inputs.of_images(ch.cfg, folds_of_run.tests, name=c.backbone, tap=c.tap)
        for j, c in by_job.items()
    }

    k = answering_k(ch, regimes.FOLDS)  # new ground: the k fixed in advance

    def answer(ctx, rows):
        out, train = {}, ctx.splits["train"]
        for job, label in methods.items():
            net = folds.trained(ctx, job).net(regimes.FOLDS.key)
            base = inputs.outputs(
                net, embedding_inputs(ctx, by_job[job])["train"], ctx.cfg
            )
            query = inputs.outputs(net, tests[job].subset(rows), ctx.cfg)
            index = GeoIndex(base, train.lat, train.lon)
            out[voted(label)] = knn_predict(index, query, k)
        return out

    folds.add(ch, folds_of_run, answer)


def _model(ctx, job: str) -> str:
    """The embedding model (CNN or ViT) ``job`` trains."""
    return {j: name for name, j in STAGE1.items()}.get(job) or stage2_base(ctx)


def voted(method: str) -> str:
    """The name of ``method`` answered by the similarity-weighted vote of its k nearest
    neighbours (k chosen on validation, or fixed on new ground)."""
    return f"{method}, k-NN"


CNN, VIT, NO_ATTENTION = (voted(LABELS[m]) for m in ("CNN", "ViT", "no attention"))
STAGE1_BASE, TWO_STAGE = voted("stage 1 {base}"), voted(TRIPLET)
CLAIMS = (
    Claim(
        "vit_cnn",
        "a pretrained ViT beats the CNN",
        VIT,
        CNN,
        "geoscore",
        source="Wu 2025, line 226",
    ),
    Claim(
        "hybrid_cnn",
        "the hybrid ViT (a new transformer on frozen CNN features) beats the CNN",
        VIT,
        CNN,
        "geoscore",
        source="this book: the from-scratch stand-in for Model 2",
    ),
    Claim(
        "attention",
        "the hybrid ViT's attention helps: it beats its twin without attention",
        VIT,
        NO_ATTENTION,
        "geoscore",
        source="this book: a control for the stand-in",
    ),
    Claim(
        "triplet_median",
        "the triplet stage lowers the median error",
        TWO_STAGE,
        STAGE1_BASE,
        "median_km",
        source="Wu 2025, line 228",
    ),
    Claim(
        "triplet_25",
        "the triplet stage raises accuracy within 25 km",
        TWO_STAGE,
        STAGE1_BASE,
        "acc@25km",
        source="Wu 2025, line 228",
    ),
    Claim(
        "triplet_europe",
        "the triplet stage lowers the mean error in Europe",
        TWO_STAGE,
        STAGE1_BASE,
        "mean_km",
        region="Europe",
        source="Wu 2025, lines 186-187",
    ),
    Claim(
        "triplet_na",
        "stage 1 beats the triplet stage in North America (the paper: stage 2 hurts)",
        STAGE1_BASE,
        TWO_STAGE,
        "mean_km",
        region="North America",
        source="Wu 2025, line 230",
    ),
    Claim(
        "triplet_control",
        "the triplet stage beats stage 1 trained as long",
        TWO_STAGE,
        voted(CONTROL),
        "median_km",
        source="this book: an epoch-matched control",
    ),
    Claim(
        "hierarchical",
        "the hierarchical loss beats the single level",
        voted(HIER),
        CNN,
        "median_km",
        source="this book: Wu 2025 never isolates the hierarchical loss",
    ),
    Claim(
        "multistage",
        "the multi-stage model beats the single-stage model",
        voted(MULTI),
        CNN,
        "median_km",
        source="Wu 2025, lines 282-286",
    ),
    Claim(
        "cnn_frozen",
        "the stage-1 CNN beats the frozen k-NN it starts from (GeoScore)",
        CNN,
        FROZEN,
        "geoscore",
        source="this book: the chapter's first question",
    ),
    Claim(
        "cnn_prior",
        "the stage-1 CNN beats the prior (GeoScore)",
        CNN,
        PRIOR,
        "geoscore",
        source="this book: a floor every method must clear",
    ),
)


CLAIMS += on_new_ground(CLAIMS, "triplet_median")  # asked of new ground too

CHAPTER = ChapterSpec(
    name=NAME,
    title="Two-stage ViT",
    notebook="04_two_stage_vit",
    settings=TwoStageSettings,
    jobs=JOBS,
    generalisation=("cnn_prior", "triplet_median_new"),
    claims=CLAIMS,
)
