"""Checkpoint keys (geosurvey.plans.key): complete (every recipe field, loss
hyperparameter, input, chapter setting, monitor and starting run changes them) and
stable (the same plan gives the same key in another process), computed without training
or loading any data."""

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geosurvey import cache, cells, losses, models, plans, profiles, train
from geosurvey.chapters.registry import SETTINGS
from geosurvey.inputs import SplitInputs

CFG = profiles.get("ci", device="cpu")
LAT = np.array([10.0, 10.1, 40.0, 40.1, -20.0, -20.1])
LON = np.array([10.0, 10.1, 5.0, 5.1, 30.0, 30.1])


def _never():
    raise AssertionError("computing a key must not produce batches, scores or weights")


def _inputs(cached=None):
    meta = pd.DataFrame({"lat": LAT, "lon": LON})
    return SplitInputs(
        meta, cached=np.ones((6, 4), np.float32) if cached is None else cached
    )


def _plan(
    *,
    recipe=None,
    loss=None,
    targets=None,
    cached=None,
    partition=None,
    settings=None,
    monitors=None,
    init=None,
    width=2,
    meta=None,
):
    data = {
        "inputs": _inputs(cached).fingerprint(),
        "targets": cache.fingerprint(np.arange(6) if targets is None else targets),
    }
    if partition is not None:
        data["cells"] = partition.fingerprint()
    return plans.Plan(
        "demo",
        recipe or train.Recipe(epochs=3),
        lambda: models.ProjectionHead(4, width),
        losses.SupCon(0.07) if loss is None else loss,
        data,
        _never,
        _never,
        monitors or {"seen": "val_geoscore", "new": "val_new_geoscore"},
        settings if settings is not None else SETTINGS["planet"]().key(),
        init=init,
        meta=meta or {},
    )


def _digest(cfg=CFG, **kw):
    return plans.digest(cfg, _plan(**kw))


def _changed(value):
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 0.1
    if isinstance(value, tuple):
        return value[:-1] + (_changed(value[-1]),) if value else (1,)
    if isinstance(value, str):
        return value + "x"
    if value is None:  # an optional setting ("the profile's")
        return 1
    raise TypeError(type(value))


def _assert_all_differ(base, variants: dict):
    keys = [base, *variants.values()]
    same = {k: v for k, v in variants.items() if keys.count(v) > 1}
    assert not same, f"these changes leave the key unchanged or collide: {sorted(same)}"


def test_every_recipe_field_changes_the_key():
    base = train.Recipe(epochs=3)
    variants = {
        f.name: _digest(
            recipe=dataclasses.replace(
                base, **{f.name: _changed(getattr(base, f.name))}
            )
        )
        for f in dataclasses.fields(train.Recipe)
    }
    assert set(variants) == {
        "epochs",
        "lr",
        "top_lr_scale",
        "batch_size",
        "patience",
        "weight_decay",
    }
    _assert_all_differ(_digest(recipe=base), variants)


def test_every_loss_hyperparameter_changes_the_key():
    variants = {
        "tau": _digest(loss=losses.SupCon(0.1)),
        "triplet": _digest(loss=losses.DistanceTriplet(0.2)),
        "margin": _digest(loss=losses.DistanceTriplet(0.3)),
        "hierarchical weights": _digest(
            loss=losses.HierarchicalSupCon((0.1, 0.3, 0.6))
        ),
        "hierarchical weights 2": _digest(
            loss=losses.HierarchicalSupCon((0.2, 0.3, 0.5))
        ),
        "hierarchical tau": _digest(
            loss=losses.HierarchicalSupCon((0.2, 0.3, 0.5), 0.1)
        ),
        "smoothing tau": _digest(loss=losses.HaversineSmoothing(LAT, LON, 50.0)),
        "smoothing tau 2": _digest(loss=losses.HaversineSmoothing(LAT, LON, 60.0)),
        "smoothing centres": _digest(
            loss=losses.HaversineSmoothing(LAT + 1e-6, LON, 50.0)
        ),
        "warm-up": _digest(loss=losses.WarmUp(0.07, 1.0)),
        "warm-up weight": _digest(loss=losses.WarmUp(0.07, 0.5)),
        "warm-up tau": _digest(loss=losses.WarmUp(0.1, 1.0)),
        "auxiliary": _digest(
            loss=losses.WithAuxiliary(losses.CrossEntropy(), (("climate", 5),), 0.3)
        ),
        "auxiliary weight": _digest(
            loss=losses.WithAuxiliary(losses.CrossEntropy(), (("climate", 5),), 0.2)
        ),
        "auxiliary tasks": _digest(
            loss=losses.WithAuxiliary(losses.CrossEntropy(), (("climate", 6),), 0.3)
        ),
        "multi-partition": _digest(loss=losses.MultiPartition(("coarse", "fine"))),
        "multi-partition heads": _digest(
            loss=losses.MultiPartition(("coarse", "middle", "fine"))
        ),
        "soft targets": _digest(loss=losses.SoftTargets((("coarse", 3),))),
        "soft targets classes": _digest(loss=losses.SoftTargets((("coarse", 4),))),
        "great circle": _digest(loss=losses.GreatCircle()),
        "unit vector": _digest(loss=losses.UnitVector()),
        "cross-entropy": _digest(loss=losses.CrossEntropy()),
    }
    _assert_all_differ(_digest(), variants)


def test_every_input_and_the_architecture_change_the_key():
    variants = {
        "labels": _digest(targets=np.array([0, 1, 2, 3, 4, 6])),
        "inputs": _digest(cached=np.full((6, 4), 1.0 + 1e-6, np.float32)),
        "partition": _digest(partition=cells.adaptive(LAT, LON, 1, 1, drop="below")),
        "other partition": _digest(
            partition=cells.adaptive(LAT, LON, 4, 1, drop="below")
        ),
        "head width": _digest(width=3),
        "seed": _digest(cfg=dataclasses.replace(CFG, seed=1)),
        "input size": _digest(cfg=dataclasses.replace(CFG, input_px=96)),
        "backbone": _digest(
            cfg=dataclasses.replace(CFG, backbones=("mobilenetv2_100",))
        ),
    }
    _assert_all_differ(_digest(), variants)


@pytest.mark.parametrize("chapter", sorted(SETTINGS))
def test_every_setting_of_every_chapter_changes_the_key(chapter):
    cls = SETTINGS[chapter]
    base = cls()
    assert dataclasses.is_dataclass(base) and dataclasses.fields(base)
    variants = {
        f.name: _digest(
            settings=dataclasses.replace(
                base, **{f.name: _changed(getattr(base, f.name))}
            ).key()
        )
        for f in dataclasses.fields(base)
    }
    _assert_all_differ(_digest(settings=base.key()), variants)


def test_each_profile_settings_differ_from_the_defaults_where_the_profile_says():
    for cls in SETTINGS.values():
        for profile, changes in cls.PROFILES.items():
            s = cls.for_profile(profile)
            assert all(getattr(s, k) == v for k, v in changes.items())
            if changes:
                assert _digest(settings=s.key()) != _digest(settings=cls().key())
        assert cls.for_profile("ci") == cls()


def test_monitors_and_the_starting_run_change_the_key_and_meta_does_not():
    start = plans.Init("0123456789ab", _never)
    variants = {
        "monitor": _digest(monitors={"seen": "val_geoscore"}),
        "monitor value": _digest(
            monitors={"seen": "val_median_km", "new": "val_new_geoscore"}
        ),
        "init": _digest(init=start),
        "other init": _digest(init=plans.Init("0123456789ac", _never)),
    }
    _assert_all_differ(_digest(), variants)
    assert (
        _digest(init=plans.Init("0123456789ab", lambda: {"other": "weights"}))
        == variants["init"]
    )
    assert _digest(meta={"profile": "ci", "note": "anything"}) == _digest()


def test_the_key_names_what_it_holds_and_the_path_starts_with_the_job():
    plan = _plan()
    key = plans.key(CFG, plan)
    assert set(key) == {
        "recipe",
        "seed",
        "backbone",
        "input_px",
        "model",
        "loss",
        "data",
        "settings",
        "monitors",
        "init",
    }
    assert key["loss"] == "SupCon(tau=0.07)" and key["recipe"]["epochs"] == 3
    path = plans.path(CFG, plan)
    assert (
        path.parent == CFG.checkpoint_dir
        and path.name == f"demo-{plans.digest(CFG, plan)}.pt"
    )


def test_the_same_plan_gives_the_same_key_in_another_process():
    code = (
        "import sys; sys.path.insert(0, 'tests'); "
        "import test_keys; print(test_keys._digest())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "HF_HUB_OFFLINE": "1", "PATH": ""},
    )
    assert out.stdout.strip().splitlines()[-1] == _digest()


def test_a_repr_with_a_memory_address_cannot_be_keyed():
    with pytest.raises(TypeError, match="memory address"):
        cache.key({"loss": lambda z, y: z})

    class Opaque:
        def __call__(self, z, y):
            return z

    with pytest.raises(TypeError, match="memory address"):
        _digest(loss=Opaque())
