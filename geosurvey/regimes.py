"""The two regimes every claim is judged in, and the test sets beside them.

* **Seen places**: test locations drawn like the training locations, from the whole
  draw. On GeoTiles a test tile's ground is almost always imaged by training tiles too,
  so this regime measures recognising known terrain, as a landmark benchmark does.
* **New places**: test locations in held-out discs whose tiles share little ground with
  the training tiles of a model trained without the discs and their buffers
  (:mod:`geosurvey.data.newplaces`); for photo datasets, test photos farther than the
  profile's ``new_places_km`` from every training photo. A chapter judges on new places
  only the claims it names in advance (:mod:`geosurvey.claims`).

Each regime has its own training split (GeoTiles: ``train`` for seen places,
``train_new`` without the held-out ground for new places; photos: ``train`` for both),
its own validation split, and every choice a method makes (k, tau, top-k cells, the best
epoch) is made on the validation split of the regime it is judged in. An ``eval`` set (a
user's im2gps-style test set) is reported beside them with the seen-places models and
choices.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Regime:
    key: str  # "seen", "new", "eval"
    name: str  # as printed beside a verdict
    val: str  # the split key of its validation images
    test: str  # the split key of its test images
    own_train: str = "train"  # its own training split, where the run has one
    about: str = "seen"  # the places it tests: "seen", or "new" ground

    def train(self, splits: dict) -> str:
        """The split key of the images this regime's models train on in ``splits``."""
        return self.own_train if self.own_train in splits else "train"


SEEN = Regime("seen", "seen places", "val", "test")
NEW = Regime("new", "new places", "val_new", "test_new", "train_new", "new")
EVAL = Regime("eval", "eval set", "val", "eval")
# new ground in K folds (chapter 1's training-free floors): each fold's test discs
# answered from the training images outside them (geosurvey.data.designs)
FOLDS = Regime("folds", "new places, 8 folds", "val_new", "test_folds", about="new")
REGIMES = (SEEN, NEW)  # where claims are judged
BY_KEY = {r.key: r for r in (SEEN, NEW, EVAL, FOLDS)}


def present(splits: dict, with_eval: bool = True) -> tuple:
    """The regimes (and the eval set) whose validation and test splits this run has."""
    candidates = REGIMES + ((EVAL,) if with_eval else ())
    return tuple(
        r
        for r in candidates
        if len(splits.get(r.val, ())) and len(splits.get(r.test, ()))
    )


def judged(splits: dict) -> tuple:
    """The regimes of :data:`REGIMES` this run can judge claims in."""
    return present(splits, with_eval=False)
