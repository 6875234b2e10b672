"""What every chapter stands on: its settings, its jobs and the run they belong to.

* A chapter's :class:`Settings` is a frozen dataclass of every knob its methods use
  (epochs of each stage, learning rates, loss parameters, sweep values, thresholds),
  with one line of meaning per knob and the values each profile changes. It is part of
  every checkpoint key of the chapter's jobs.
* A :class:`Job` is one model a chapter trains, with a stable name: ``geosurvey fit
  NAME`` (or ``torchrun ... fit NAME``) trains exactly the model the chapter then loads.
* A :class:`Context` is one run: the profile, the image sets, what they derive
  (partitions, cached inputs, scene labels; computed once) and the jobs trained so far.
  The command line builds one to train a job; a chapter builds a :class:`Chapter`, which
  adds the evaluations, the claims and the results file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np
import pandas as pd

from .. import (
    cache,
    display,
    files,
    geo,
    inputs,
    plans,
    regimes,
    results,
    timings,
    train,
)
from ..claims import Claims
from ..data import newplaces
from ..evaluation import Evaluations
from ..metrics import REGIONS
from ..train import Recipe

EXPECTED_FILE = Path(__file__).with_name("expected.json")  # python -m tools.expected


def expected(chapter: str) -> dict:
    """The verdicts the ``ci`` profile asserts of ``chapter``'s claims (decisive and the
    same at seeds 0, 1 and 2): ``{claim key: ((regime, verdict), ...)}``."""
    table = json.loads(EXPECTED_FILE.read_text())["verdicts"].get(chapter, {})
    return {key: tuple(map(tuple, pairs)) for key, pairs in table.items()}


def knob(default, doc: str):
    """A settings field with its meaning (shown in the chapter's settings table)."""
    return field(default=default, metadata={"doc": doc})


class Settings:
    """Mixin of a chapter's frozen settings dataclass; ``PROFILES`` holds each profile's
    changes to the defaults (the defaults are the ``ci`` profile's); ``RECIPE_FROM``
    names the chapter whose training recipe its models borrow (shown in its table)."""

    PROFILES: ClassVar[dict] = {}
    RECIPE_FROM: ClassVar[str | None] = None

    @classmethod
    def for_profile(cls, profile: str):
        return cls(**cls.PROFILES.get(profile, {}))

    def table(self) -> pd.DataFrame:
        rows = {
            f.name: {
                "value": _shown(getattr(self, f.name)),
                "meaning": f.metadata.get("doc", ""),
            }
            for f in fields(self)
        }
        if self.RECIPE_FROM:
            rows["recipe"] = {
                "value": f"{self.RECIPE_FROM}'s",
                "meaning": "every model trains with that chapter's recipe (epochs, "
                "learning rates, patience, weight decay)",
            }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("setting")

    def key(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def recipe(self, cfg, **changes) -> Recipe:
        """The training recipe of this chapter's models: each field of
        :class:`~geosurvey.train.Recipe` this object has (the batch size is the
        profile's unless it has one), then ``changes``."""
        own = {
            f.name: getattr(self, f.name)
            for f in fields(Recipe)
            if hasattr(self, f.name)
        }
        return Recipe(**{"batch_size": cfg.batch_size, **own, **changes})


@dataclass(frozen=True)
class ChapterSpec:
    """A chapter as the registry, the comparison, the tests and the command line see
    it: its results name (``results/<name>.json``), title, notebook (``book/<notebook>.
    ipynb``), settings class, jobs, the keys of the one to three claims it judges on
    new places (named before any run: every other new-places difference is an
    estimate), and its claims."""

    name: str
    title: str
    notebook: str
    settings: type | None = None
    jobs: tuple = ()
    generalisation: tuple = ()
    claims: tuple = ()  # every claim it judges (geosurvey.claims.Claim), in page order

    @property
    def label(self) -> str:
        """What a table calls the chapter: its number and title."""
        return f"{int(self.notebook[:2])} {self.title}"


def _shown(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, float):
        return f"{value:.0e}" if 0 < abs(value) < 0.01 else f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Job:
    """A model a chapter trains: ``plan(ctx)`` describes the run; ``needs`` names the
    jobs it starts from or reads the outputs of (trained first when missing), or is a
    function of the run that says which; ``fold_plan(ctx)`` describes its run in a
    fold's context, for the jobs that train in folds."""

    name: str
    chapter: str
    description: str
    plan: Callable
    needs: tuple | Callable = ()
    # how it trains in one fold of new ground (geosurvey.folds), where it does
    fold_plan: Callable | None = None

    def dependencies(self, ctx) -> tuple:
        return self.needs(ctx) if callable(self.needs) else self.needs


class Context:
    """One run: profile, image sets, derived data (memoised) and trained jobs.

    ``registry`` maps job names to :class:`Job` and chapter names to their settings
    classes.
    """

    def __init__(self, cfg, splits: dict, registry, parent=None):
        self.cfg, self.splits, self.registry = cfg, splits, registry
        # (the context this one was carved from, the split it trains on, the rows of
        # that split it keeps or None for all), or None
        self.parent = parent
        self._memo: dict = {}
        self._trained: dict = {}

    def memo(self, name: str, make: Callable):
        """``make()`` the first time ``name`` is asked for, the same object
        afterwards."""
        if name not in self._memo:
            self._memo[name] = make()
        return self._memo[name]

    def settings(self, chapter: str):
        return self.memo(
            f"settings:{chapter}",
            lambda: self.registry.settings[chapter].for_profile(self.cfg.name),
        )

    def recipe(self, chapter: str, **changes):
        """The training recipe of ``chapter``'s models (the one it borrows, where its
        settings name one), with ``changes``."""
        source = self.settings(chapter).RECIPE_FROM or chapter
        return self.settings(source).recipe(self.cfg, **changes)

    @property
    def inputs(self) -> dict:
        """:class:`~geosurvey.inputs.SplitInputs` of every split for the profile's
        backbone."""

        def make(images):
            with timings.span("activations"):
                return inputs.of_images(self.cfg, images)

        return self.per_split("inputs", make, take=lambda x, rows: x.subset(rows))

    def per_split(self, name: str, make: Callable, take=lambda v, rows: v[rows]):
        """``{split: make(images)}`` for every split, computed once by the context
        everything was carved from; ``train_new``, a subset of ``train``, takes
        (``take``) its rows of train's instead of a second pass."""
        if self.parent is not None:
            parent, train, rows = self.parent
            full = parent.per_split(name, make, take)
            out = {k: full[k] for k in self.splits if k != "train"}
            out["train"] = full[train] if rows is None else take(full[train], rows)
            return out

        def build():
            out = {k: make(v) for k, v in self.splits.items() if k != "train_new"}
            if "train_new" in self.splits:
                rows = newplaces.new_ground(self.splits["train"].meta)
                out["train_new"] = take(out["train"], rows)
            return out

        return self.memo(f"per-split:{name}", build)

    @property
    def regimes(self) -> tuple:
        """The regimes (and the eval set) this run has test splits for."""
        return regimes.present(self.splits)

    @property
    def judged(self) -> tuple:
        return regimes.judged(self.splits)

    def trained_on(self) -> dict:
        """``{training split: the regimes whose models train on it}``."""
        names = [r.train(self.splits) for r in self.regimes]
        return {
            n: [r for r in self.regimes if r.train(self.splits) == n] for n in names
        }

    def at(self, regime) -> "Context":
        """The context ``regime``'s models train and choose in: this one where every
        regime trains on the same split, else one whose ``train`` is ``regime``'s
        training split and whose other splits are those of the regimes sharing it."""
        groups = self.trained_on()
        if len(groups) == 1:
            return self
        name = regime.train(self.splits)
        own = [s for r in groups[name] for s in (r.val, r.test)]
        keep = {"train": self.splits[name], **{s: self.splits[s] for s in own}}
        args = (self.cfg, keep, self.registry, (self, name, None))
        return self.memo(f"at:{name}", lambda: Context(*args))

    def carve(self, rows: np.ndarray, name: str) -> "Context":
        """A context (memoised as ``name``) whose only split is ``rows`` of this one's
        training split: where a model trains that validates on nothing, such as one
        fold's (:mod:`geosurvey.folds`)."""
        keep = {"train": self.splits["train"].subset(rows)}
        args = (self.cfg, keep, self.registry, (self, "train", np.asarray(rows)))
        return self.memo(f"carve:{name}", lambda: Context(*args))

    @property
    def val(self) -> str:
        """The validation split of this context's first judged regime (what a
        validation loss reads)."""
        return self.judged[0].val

    def monitors(self, metric: str = "geoscore") -> dict:
        """``{regime: validation value}`` a training run selects its epochs by, per
        regime."""
        return {r.key: f"{r.val}_{metric}" for r in self.judged}

    def plan(self, job: str) -> plans.Plan:
        """How ``job`` trains here; with several training splits, the seen-places
        model's plan."""
        leaf = self.leaves()[0]
        if leaf is not self:
            return leaf.plan(job)
        return self.memo(f"plan:{job}", lambda: self.registry.jobs[job].plan(self))

    def leaves(self) -> list:
        """The contexts a job trains in: one per training split."""
        groups = self.trained_on()
        return [self.at(rs[0]) for rs in groups.values()] if len(groups) > 1 else [self]

    def key(self, job: str) -> str:
        """The checkpoint key of ``job`` (computed without training anything); with
        several training splits, the seen-places model's."""
        leaf = self.leaves()[0]
        if leaf is not self:
            return leaf.key(job)
        return self.memo(f"key:{job}", lambda: plans.digest(self.cfg, self.plan(job)))

    def checkpoints(self, job: str) -> list:
        """The checkpoint files of ``job``: one per training split."""
        return [c.cfg.checkpoint_dir / f"{job}-{c.key(job)}.pt" for c in self.leaves()]

    def fit(self, job: str):
        """Train ``job`` (after the jobs it needs), or load it: a
        :class:`~geosurvey.train.Trained`, or a :class:`PerRegime` of one per training
        split."""
        leaves = self.leaves()
        if leaves != [self]:
            return PerRegime({r.key: c.fit(job) for c in leaves for r in c.regimes})
        if job not in self._trained:
            for need in self.registry.jobs[job].dependencies(self):
                self.fit(need)
            with timings.span(f"job {job}"):
                self._trained[job] = plans.run(self.cfg, self.plan(job))
        return self._trained[job]

    def net(self, job: str):
        """``job``'s model with the weights chosen on this context's first judged
        regime."""
        return self.fit(job).net(self.judged[0].key)

    def weights(self, job: str) -> dict:
        """The trainable weights ``job`` chose on this context's first judged regime
        (what a job that starts from it starts from)."""
        return self.fit(job).states[self.judged[0].key]

    def start_from(self, job: str) -> plans.Init:
        """Start a job from ``job``'s :meth:`weights`, keyed by its checkpoint."""
        return plans.Init(self.key(job), lambda: self.weights(job))

    def outputs(
        self, trained, regime, split: str | None = None, x=None, fn=None
    ) -> np.ndarray:
        """Outputs of ``trained``'s model with the weights chosen for ``regime``, on
        that regime's test split (or ``split``, or the inputs ``x`` given)."""
        x = self.inputs[split or regime.test] if x is None else x
        return inputs.outputs(trained.net(regime.key), x, self.cfg, fn)


class PerRegime:
    """One job trained once per training split: ``net(regime)`` is the model that
    regime's run chose, ``history`` the runs' epochs side by side (their shared
    columns, such as the training loss, the first run's); everything else (``model``)
    is the first run's (the seen-places model's)."""

    def __init__(self, runs: dict):  # {regime key: Trained}
        self.runs = runs
        self.first = next(iter(runs.values()))

    def net(self, regime: str = "seen"):
        return self.runs.get(regime, self.first).net(regime)

    @property
    def history(self) -> train.History:
        runs = list({id(r): r.history for r in self.runs.values()}.values())
        epochs = [
            {
                k: v
                for h in runs[::-1]
                if i < len(h.epochs)
                for k, v in h.epochs[i].items()
            }
            for i in range(max(len(h.epochs) for h in runs))
        ]
        best = {k: v for h in runs for k, v in h.best.items()}
        return train.History(epochs, best, any(h.stopped_early for h in runs))

    def __getattr__(self, name):
        if name in ("runs", "first"):  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.first, name)


class Chapter(Context):
    """A chapter's run: a :class:`Context` with its settings, evaluations and claims."""

    def __init__(
        self, name: str, cfg, splits: dict, registry, *, generalisation=(), claims=()
    ):
        super().__init__(cfg, splits, registry)
        self.name = name
        spec = cfg.geotiles_spec()
        self.evaluations = Evaluations(
            {r.test: splits[r.test].meta for r in self.regimes},
            # held-out discs whose tiles may share ground: nearer than two radii and
            # a rotated tile's diagonal at the largest scale
            merge_km=2 * spec.block_radius_km
            + 2 * newplaces.reach_km(spec.extent_km, 1 + spec.scale_jitter),
        )
        self.claims = Claims(
            self.evaluations,
            self.judged,
            seed=cfg.seed,
            assert_claims=cfg.assert_claims,
            expected=expected(name),
            generalisation=generalisation,
            reach={r.test: self.reach(r) for r in self.regimes},
        )
        for claim in claims:
            self.claims.add(claim)
        self.started = time.perf_counter()
        # what the results break down by; a chapter may add scenes
        self.regions = REGIONS
        # what the results file keeps beside the methods and claims
        self.record: dict = {}

    def reach(self, regime) -> np.ndarray:
        """Distance (km) from each of ``regime``'s test images to the nearest image
        its models trained on."""
        test, train = self.splits[regime.test], self.at(regime).splits["train"]
        return geo.nearest(test.lat, test.lon, train.lat, train.lon)[0]

    @property
    def knobs(self):
        """This chapter's settings (every knob of its methods)."""
        return self.settings(self.name)

    def add(self, method: str, answers, **info) -> None:
        """Evaluate ``method`` on every regime's test split: ``answers`` holds each
        regime's ``(lat, lon)``, by regime key or as a function of the regime."""
        with timings.span("evaluation"):
            for r in self.regimes:
                got = answers(r) if callable(answers) else answers[r.key]
                self.evaluations.add(method, r.test, *got, **info)

    def results(self) -> dict:
        return {
            "chapter": self.name,
            "profile": self.cfg.name,
            "seed": self.cfg.seed,
            "settings": self.knobs.key() if self.name in self.registry.settings else {},
            "splits": {k: len(v) for k, v in self.splits.items()},
            "regimes": [r.key for r in self.regimes],
            "overlap": self.overlap(),
            "methods": results.method_table(self.evaluations, self.regions),
            "claims": self.claims.records(),
            "failed_assertions": self.claims.failures(),
            "jobs": {
                job: [c.key(job) for c in self.leaves()]
                for job in sorted({j for c in self.leaves() for j in c._trained})
            },
            "skipped_images": {
                k: v.skipped for k, v in self.splits.items() if v.skipped
            },
            "country_label_conflicts": {
                k: v.label_conflicts
                for k, v in self.splits.items()
                if v.label_conflicts
            },
            "wall_time_s": round(time.perf_counter() - self.started, 1),
            **self.record,
        }

    def overlap(self) -> dict:
        """``{regime: how much its test split overlaps training}``: the measures of
        :func:`~geosurvey.data.newplaces.overview` (ground shared with training tiles,
        the nearest training location, the continent mix), cached on disk by the
        splits' contents."""
        spec = self.cfg.geotiles_spec()
        train_of = {r.test: r.train(self.splits) for r in self.regimes}
        params = {
            "splits": {
                s: self.splits[s].fingerprint() for s in {*train_of, *train_of.values()}
            },
            "train_of": train_of,
            "extent_km": spec.extent_km,
            "max_scale": 1 + spec.scale_jitter,
        }
        path = cache.entry("overlap", params).with_suffix(".json")
        if not path.exists():
            table = newplaces.overview(
                self.splits,
                list(train_of),
                extent_km=params["extent_km"],
                max_scale=params["max_scale"],
                train_of=train_of,
            )
            files.write_text(path, table.to_json(orient="index"))
        table = json.loads(path.read_text())
        return {r.key: table[r.test] for r in self.regimes}

    def finish(self, *, untestable=None, **names) -> list:
        """Judge the chapter's claims (its ``ChapterSpec.claims``, completed by
        ``untestable`` and ``names`` as :meth:`~geosurvey.claims.Claims.settle` says;
        pooling the other seeds whose results exist), save the results files, and
        return the broken assertions (the notebook's last cell raises on them): claims
        the profile asserts, and any name only the code uses that a table or figure
        showed (:func:`geosurvey.display.internal_names`)."""
        root = self.cfg.results_dir
        with timings.span("claims and bootstrap"):
            self.claims.settle(untestable=untestable, names=names)
            self.claims.others = results.other_seeds(self.name, root, self.cfg.seed)
            self.claims.judge()
        with timings.span("results files"):
            results.save_predictions(
                root / f"{self.name}.predictions.npz", self.evaluations
            )
            results.save_json(root / f"{self.name}.json", self.results())
        return self.claims.failures() + display.internal_names()
