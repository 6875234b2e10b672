"""New ground in folds (geosurvey.folds): two folds, Paris held out by one and Tokyo by
the other, on the tiny tiles of the floors' tests."""

import numpy as np
import pandas as pd
import pytest
from test_baselines import _splits

from geosurvey import baselines, display, folds, plans, profiles
from geosurvey.chapters import planet, registry
from geosurvey.chapters.base import Chapter
from geosurvey.data.designs import Design
from geosurvey.data.sets import TileSet
from geosurvey.regimes import FOLDS, NEW, SEEN

PARIS, TOKYO = (48.85, 2.35), (35.68, 139.69)


@pytest.fixture()
def run(tmp_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("GEOSURVEY_CHECKPOINTS", str(tmp_path / "checkpoints"))
    splits = _splits()
    splits.update(val_new=splits["val"], test_new=splits["test"])
    ch = Chapter("planet", profiles.get("ci", device="cpu"), splits, registry())
    discs = pd.DataFrame(
        {"lat": [PARIS[0], TOKYO[0]], "lon": [PARIS[1], TOKYO[1]], "fold": [0, 1]}
    )
    rest = splits["test"]
    fold = (rest.lat < 40).astype(int)  # Paris rows: fold 0; Tokyo rows: fold 1
    tests = TileSet(rest.meta.assign(fold=fold, block=fold), rest.tiles, name="folds")
    return ch, folds.Folds(Design("two folds", 100, 100, 50, 2, 1), discs, tests)


def _answered_far(run_, method) -> float:
    """How far (degrees of latitude) the farthest answer lies from the other city."""
    ch, f = run_
    plat, _ = ch.evaluations.predicted(method, FOLDS.test)
    return np.where(f.fold == 0, abs(plat - TOKYO[0]), abs(plat - PARIS[0])).max()


def test_a_fold_context_trains_on_the_rows_outside_its_discs_only(run):
    ch, f = run
    ctx = folds.context(ch, f, 0)
    train = ch.splits["train"]
    assert set(ctx.splits) == {"train"} and ctx.judged == ()
    np.testing.assert_array_equal(ctx.splits["train"].lat, train.lat[train.lat < 40])
    # derived inputs are the rows of the parent's, not a second pass
    full, mine = ch.inputs["train"].cached, ctx.inputs["train"].cached
    np.testing.assert_array_equal(mine, full[train.lat < 40])
    assert folds.context(ch, f, 0) is ctx


def test_fold_floors_answer_each_fold_without_its_discs(run):
    """Every answer to a fold's test image comes from the training images outside
    that fold's discs and buffers: Paris is answered in Tokyo and Tokyo in Paris."""
    ch, f = run
    baselines.add_floors(ch)
    folds.add_floors(ch, f)
    assert FOLDS in ch.claims.regimes
    for m in (baselines.PRIOR, baselines.RAW, baselines.FROZEN, baselines.ORACLE):
        assert _answered_far(run, m) < 2.0, m  # the other city, never its own
    assert ch.claims.reach[FOLDS.test].min() > 5000


def test_a_fold_classifier_never_sees_its_fold_and_keeps_its_last_epoch(run):
    ch, f = run
    planet.add_fold_classifier(ch, f, "classifier")
    assert _answered_far(run, "classifier") < 2.0  # its cells lie in the other city
    ctx = folds.context(ch, f, 1)
    plan = planet.cell_classifier(
        ctx,
        "planet-middle-fold",
        ctx.recipe("planet"),
        ctx.settings("planet"),
        planet.partitions(ctx)[0]["middle"],
        monitors=folds.LAST_EPOCH,
    )
    trained = plans.run(ctx.cfg, plan)  # loaded: trained above
    epochs = ctx.recipe("planet").epochs
    assert len(trained.history.epochs) == epochs
    assert trained.history.best[FOLDS.key]["epoch"] == epochs


def test_the_fold_hierarchy_answers_each_fold_from_the_other_city(run, monkeypatch):
    """One multi-partition network per fold answers as two methods; the per-fold
    table counts every test tile once."""
    from geosurvey.chapters import scene_networks

    ch, f = run
    scene_networks.add_fold_hierarchy(ch, f, hierarchical="product", fine="fine head")
    for m in ("product", "fine head"):
        assert _answered_far(run, m) < 2.0, m
    table = folds.by_fold(ch, ["product", "fine head"])
    assert list(table.index) == ["0", "1"]
    assert table["images"].sum() == len(f.tests)
    scores = ch.record["folds"]["product"]["geoscore by fold"]
    assert table["product"].tolist() == [round(scores["0"]), round(scores["1"])]
    # the tables show the methods under the names a chapter gives them there
    shown = []
    monkeypatch.setattr(display, "show", shown.append)
    folds.show(ch, ["product"], names={"product": "product, fixed"})
    assert "product, fixed" in shown[0].index and "product" not in shown[0].index
    assert list(shown[1].columns) == ["product, fixed", "images"]


def test_only_jobs_with_a_fold_plan_train_in_folds(run):
    ch, f = run
    ctx = folds.context(ch, f, 0)
    with pytest.raises(ValueError, match="planet-middle"):
        folds.trained(ctx, "planet-regression-chord")
    plan = ch.registry.jobs["planet-middle"].fold_plan(ctx)
    assert plan.name == "planet-middle-fold" and plan.monitors == folds.LAST_EPOCH


def test_pigeons_fold_classifier_answers_from_the_other_city(run):
    """A smoothed classifier of PIGEON's new-ground questions, trained once per fold
    with the smoothing fixed in advance (S2 cells: a fold's few training tiles here
    are too few for semantic cells)."""
    from geosurvey.chapters import pigeon

    ch, f = run
    pigeon.add_fold_cells(ch, f, {"S2": "S2 cells"}, 0.5)
    assert _answered_far(run, "S2 cells") < 2.0
    assert set(ch.record["folds"]) == {"S2 cells"}


def test_a_folds_stage_2_starts_from_that_folds_stage_1_and_never_sees_its_fold(run):
    """Chapter 4's fold models: stage 2 of a fold starts from the same fold's stage 1
    (not from the seen-places model, nor another fold's), both keep their last epoch,
    and their k-NN answers come from the other city."""
    from geosurvey.chapters import two_stage_vit

    ch, f = run
    jobs = ch.registry.jobs
    ctx = [folds.context(ch, f, k) for k in (0, 1)]
    plans_of = [jobs["two-stage-triplet"].fold_plan(c) for c in ctx]
    firsts = [plans.digest(c.cfg, jobs["two-stage-cnn"].fold_plan(c)) for c in ctx]
    assert [p.init.key for p in plans_of] == firsts and firsts[0] != firsts[1]
    assert firsts[0] != ch.key("two-stage-cnn")
    assert all(
        p.monitors == folds.LAST_EPOCH and p.val_batches is None for p in plans_of
    )
    methods = {"two-stage-cnn": "stage 1", "two-stage-triplet": "stage 2"}
    two_stage_vit.add_fold_knn(ch, f, methods)  # with the k fixed for new ground
    answered = [two_stage_vit.voted(m) for m in methods.values()]
    assert set(ch.record["folds"]) == set(answered)
    for m in answered:
        assert _answered_far(run, m) < 2.0, m
    stage2 = folds.trained(ctx[1], "two-stage-triplet")
    assert len(stage2.history.epochs) == ch.settings("two_stage_vit").stage2_epochs


def test_fold_csns_are_routed_by_the_folds_own_classifier_and_never_see_its_fold(run):
    """Chapter 5's pipeline in a fold: the router, the shared network and each CSN
    train on the fold's tiles and keep their last epoch; a CSN starts from the same
    fold's shared network."""
    from geosurvey.chapters import scene_networks

    ch, f = run
    scene_networks.add_fold_csns(ch, f, "CSNs")
    assert _answered_far(run, "CSNs") < 2.0
    ctx, jobs = folds.context(ch, f, 0), ch.registry.jobs
    csn = jobs["scene-csn-1"].fold_plan(ctx)
    multi = plans.digest(ctx.cfg, jobs["scene-multi-partition"].fold_plan(ctx))
    assert csn.init.key == multi and csn.monitors == folds.LAST_EPOCH
    assert jobs["scene-classifier"].fold_plan(ctx).monitors == folds.LAST_EPOCH
    router = folds.trained(ctx, "scene-classifier")
    assert len(router.history.epochs) == ch.settings("scene_networks").scene_epochs


def test_a_k_nn_on_new_ground_answers_with_the_k_fixed_in_advance(run):
    """New-places validation holds too few discs to choose k: every k-NN there uses
    the k fixed in the settings, while seen places keep validation's choice."""
    ch, _ = run
    baselines.add_floors(ch)
    fixed = ch.settings("data_and_metrics").new_ground_k
    for method in (baselines.RAW, baselines.FROZEN):
        assert ch.evaluations.done[method, NEW.test].info["best_k"] == fixed
    assert baselines.answering_k(ch, SEEN, 7) == 7
    assert baselines.answering_k(ch, FOLDS, 7) == fixed


def test_higher_on_counts_the_folds_each_way_and_the_level_ones():
    per = pd.DataFrame({"a": [300, 200, 150, 90], "b": [250, 200, 160, 80]})
    assert folds.higher_on(per, "a", "b") == "2 of 4 folds (1 lower, 1 level)"
    assert folds.higher_on(per.iloc[[0, 2]], "a", "b") == "1 of 2 folds (1 lower)"
