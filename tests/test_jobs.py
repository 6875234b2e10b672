"""Every model a chapter trains is a named job (geosurvey.chapters): listed by the
command line, and its checkpoint key computable on a real (tiny) run without training
anything."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from geosurvey import plans, profiles
from geosurvey.chapters import base
from geosurvey.chapters.registry import (
    CHAPTERS,
    SETTINGS,
    Registry,
    context,
    registry,
)

TRAINING_CHAPTERS = ("planet", "pigeon", "two_stage_vit", "scene_networks")
SIZES = {"train": 240, "val": 40, "test": 40, "val_new": 20, "test_new": 20}


def test_the_registry_lists_every_job_of_chapters_2_to_5_once_with_its_chapter():
    jobs = registry().jobs
    expected = [job.name for name in TRAINING_CHAPTERS for job in CHAPTERS[name].jobs]
    assert sorted(jobs) == sorted(expected) and len(set(expected)) == len(expected)
    assert CHAPTERS["data_and_metrics"].jobs == CHAPTERS["comparison"].jobs == ()
    for name in TRAINING_CHAPTERS:
        assert CHAPTERS[name].jobs, name
        for job in CHAPTERS[name].jobs:
            assert jobs[job.name] is job and job.chapter == name and job.description
    assert {j.chapter for j in jobs.values()} == set(TRAINING_CHAPTERS)
    assert set(registry().settings) == set(CHAPTERS) - {"comparison"}
    # the descriptors' notebooks are the book's chapters, in order
    book = sorted(p.stem for p in (Path(__file__).parent.parent / "book").glob("0*"))
    assert [c.notebook for c in CHAPTERS.values()] == book
    for job in jobs.values():  # a fixed list of needs names jobs that exist
        if not callable(job.needs):
            assert set(job.needs) <= set(jobs), job.name


def test_two_jobs_with_one_name_are_an_error(monkeypatch):
    job = CHAPTERS["planet"].jobs[0]
    pigeon = CHAPTERS["pigeon"]
    twice = (*pigeon.jobs, dataclasses.replace(job, chapter="pigeon"))
    monkeypatch.setitem(CHAPTERS, "pigeon", dataclasses.replace(pigeon, jobs=twice))
    with pytest.raises(ValueError, match=f"two jobs are named '{job.name}'"):
        registry()


def test_fit_list_prints_every_job_by_chapter():
    out = subprocess.run(
        [sys.executable, "-m", "geosurvey.cli", "fit", "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = out.splitlines()
    for name in TRAINING_CHAPTERS:
        assert f"{name}:" in lines
    for job in registry().jobs.values():
        line = next((x for x in lines if x.split() and x.split()[0] == job.name), None)
        assert line is not None and job.description in line, job.name
        chapter_line = max(
            i for i, x in enumerate(lines[: lines.index(line)]) if x.endswith(":")
        )
        assert lines[chapter_line] == f"{job.chapter}:"
    assert "needs planet-middle" in next(
        x for x in lines if x.split()[0] == "planet-album-lstm"
    )


@pytest.fixture(scope="module")
def run(private_run):
    """A tiny ``ci`` run on the real GeoTiles: its splits and a context over them."""
    cfg = profiles.get("ci", device="cpu", sizes=SIZES)
    splits = profiles.load_splits(cfg)
    return cfg, splits, context(cfg, splits)


def test_the_tiny_run_has_every_split(run):
    cfg, splits, ctx = run
    assert {k: len(splits[k]) for k in ("train", "val", "test")} == {
        "train": 240,
        "val": 40,
        "test": 40,
    }
    assert 0 < len(splits["val_new"]) <= 20 and 0 < len(splits["test_new"]) <= 20
    assert [r.key for r in ctx.judged] == ["seen", "new"]
    assert ctx.monitors() == {"seen": "val_geoscore", "new": "val_new_geoscore"}


def test_every_key_is_computed_without_training(run):
    cfg, _, ctx = run
    keys = {}
    for name in registry().jobs:
        keys[name] = ctx.key(name)
        assert keys[name] == plans.digest(cfg, ctx.plan(name))
        assert ctx.checkpoints(name)[0] == plans.path(cfg, ctx.plan(name))
        assert ctx.checkpoints(name)[0].name == f"{name}-{keys[name]}.pt"
    assert len(set(keys.values())) == len(keys)  # no two jobs share a checkpoint
    assert not cfg.checkpoint_dir.exists() or not any(cfg.checkpoint_dir.rglob("*.pt"))
    # each plan names its job and the regimes it selects epochs on
    for name in registry().jobs:
        plan = ctx.plan(name)
        assert (
            plan.name == name
            and plan.settings == ctx.settings(registry().jobs[name].chapter).key()
        )
        assert set(plan.monitors) == {"seen"}
    # and a second model per job trains on the new-ground training split
    seen, new = ctx.leaves()
    assert len(new.splits["train"]) < len(seen.splits["train"]) == 240
    assert set(new.splits) == {"train", "val_new", "test_new"}
    for name in registry().jobs:
        assert set(new.plan(name).monitors) == {"new"}
        assert len({f.name for f in ctx.checkpoints(name)}) == 2


def test_every_jobs_key_is_the_one_on_record(run):
    """A change to how jobs are built that should not change what they train keeps
    every checkpoint key: ``tests/data/job_keys.json`` holds the tiny run's keys
    (rewrite it, with the reason in the commit, when a change means to retrain)."""
    _, _, ctx = run
    keys = {
        name: [c.key(name) for c in ctx.leaves()] for name in sorted(registry().jobs)
    }
    record = Path(__file__).parent / "data" / "job_keys.json"
    if os.environ.get("GEOSURVEY_RECORD_KEYS"):
        record.write_text(json.dumps(keys, indent=1) + "\n")
    assert keys == json.loads(record.read_text())


def test_callable_needs_name_the_stage_1_model_that_stage_2_starts_from(run):
    _, _, ctx = run
    jobs = registry().jobs
    # the ci ViT is not pretrained
    assert jobs["two-stage-triplet"].dependencies(ctx) == ("two-stage-cnn",)
    assert ctx.plan("two-stage-triplet").init.key == ctx.key("two-stage-cnn")
    assert ctx.plan("multi-stage-3").init.key == ctx.key("multi-stage-2")
    assert ctx.plan("scene-csn-2").init.key == ctx.key("scene-multi-partition")
    assert ctx.plan("planet-album-lstm").data["features"] == ctx.key("planet-middle")


def _with_changed_plan(job_name):
    """The registry with ``job_name``'s plan trained one epoch longer (so its key
    changes)."""
    jobs = dict(registry().jobs)
    original = jobs[job_name].plan

    def plan(ctx):
        p = original(ctx)
        p.recipe = dataclasses.replace(p.recipe, epochs=p.recipe.epochs + 1)
        return p

    jobs[job_name] = dataclasses.replace(jobs[job_name], plan=plan)
    return Registry(jobs, dict(SETTINGS))


@pytest.mark.parametrize(
    "dependency,dependents,independent",
    [
        ("planet-middle", ["planet-album-lstm"], ["planet-coarse", "planet-fine"]),
        (
            "two-stage-cnn",
            ["two-stage-triplet", "two-stage-control"],
            ["two-stage-hierarchical"],
        ),
        (
            "multi-stage-1",
            ["multi-stage-2", "multi-stage-3", "multi-stage-4"],
            ["two-stage-cnn"],
        ),
        (
            "scene-multi-partition",
            [
                "scene-csn-1",
                "scene-csn-2",
                "scene-csn-3",
                "scene-input-with",
                "scene-input-without",
            ],
            ["scene-classifier"],
        ),
        (
            "scene-classifier",
            ["scene-input-with"],
            ["scene-input-without", "scene-csn-1"],
        ),
    ],
)
def test_a_dependency_with_another_key_changes_its_dependents_keys(
    run, dependency, dependents, independent
):
    cfg, splits, ctx = run
    changed = base.Context(cfg, splits, _with_changed_plan(dependency))
    assert changed.key(dependency) != ctx.key(dependency)
    for name in dependents:
        assert changed.key(name) != ctx.key(name), name
    for name in independent:
        assert changed.key(name) == ctx.key(name), name
    assert not cfg.checkpoint_dir.exists() or not any(cfg.checkpoint_dir.rglob("*.pt"))


def test_a_chapter_setting_changes_the_keys_of_that_chapters_jobs_only(run):
    cfg, splits, ctx = run

    class Longer:
        @classmethod
        def for_profile(cls, profile):
            return dataclasses.replace(
                SETTINGS["scene_networks"].for_profile(profile), csn_epochs=7
            )

    changed = base.Context(
        cfg, splits, Registry(registry().jobs, {**SETTINGS, "scene_networks": Longer})
    )
    assert changed.plan("scene-csn-1").recipe.epochs == 7
    for name, job in registry().jobs.items():
        if job.chapter == "scene_networks":
            assert changed.key(name) != ctx.key(name), name
        elif job.chapter == "planet":
            assert changed.key(name) == ctx.key(name), name


def test_a_borrowed_recipe_is_a_visible_setting(run):
    _, _, ctx = run
    assert ctx.recipe("pigeon") == ctx.recipe("planet") == ctx.recipe("scene_networks")
    assert ctx.recipe("two_stage_vit") != ctx.recipe("planet")
    assert ctx.recipe("planet", epochs=2).epochs == 2
    table = ctx.settings("pigeon").table()
    assert table.loc["recipe", "value"] == "planet's"
    assert "recipe" not in ctx.settings("planet").table().index
