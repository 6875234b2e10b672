"""The one evaluator of the book, its uncertainty, and the results files every chapter writes.

Convention (stated in chapter 1): haversine distance with R = 6371.0088 km; a prediction is a hit
at threshold t when its distance is <= t; thresholds 1/25/200/750/2500 km ("street", "city",
"region", "country", "continent"); plus median and mean error, mean GeoScore
(5000 exp(-d / 1492.7)) and, where labels exist, country accuracy. Per-region breakdowns
(Global / Europe / North America as in Wu et al.) use the region of the *true* location.

Uncertainty: a paired bootstrap over test images. The test rows are resampled with replacement
1,000 times, with one fixed set of resamples per set of rows, so two methods evaluated on the same
rows are compared on the same resamples and the interval of their *difference* is honest. A claim
is "reproduced" when the 95 % interval of its difference lies on the claimed side of zero, "not
reproduced" when it lies on the other side, and "inconclusive" when it spans zero.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import cache, files
from .geo import geoscore, haversine

THRESHOLDS_KM = (1, 25, 200, 750, 2500)
REGIONS = ("Global", "Europe", "North America")
N_BOOTSTRAP = 1000
LOWER_IS_BETTER = ("median_km", "mean_km", "q1_km", "q3_km")
GROUP_COLUMNS = ("continent", "scene", "novelty")  # a region names a value of one of these meta columns
UNSEEN_GROUP = "unseen places"  # the GeoTiles split of test places far from all training locations
UNSEEN = f" | {UNSEEN_GROUP}"  # suffix of a method evaluated on that split
EXTRA_SPLITS = {"unseen": UNSEEN, "eval": " | eval set"}  # test sets beside "test", and their suffixes
VERDICTS = ("reproduced", "not reproduced", "inconclusive")


def evaluate(pred_lat, pred_lon, true_lat, true_lon, pred_country=None, true_country=None) -> dict:
    """Accuracy (%) within each threshold, median/mean km, GeoScore, country accuracy (%)."""
    return summarize(haversine(pred_lat, pred_lon, true_lat, true_lon), _hits(pred_country, true_country))


def _hits(pred_country, true_country):
    if pred_country is None or true_country is None:
        return None
    return np.asarray(pred_country, dtype=object) == np.asarray(true_country, dtype=object)


def summarize(d, country_hits=None) -> dict:
    """The metrics of :func:`evaluate` from error distances in km (and country hits, if known)."""
    d = np.asarray(d, dtype=np.float64)
    if d.size == 0:
        raise ValueError("cannot evaluate an empty set of predictions")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"{int((~np.isfinite(d)).sum())} predictions are NaN or infinite")
    hits = None if country_hits is None else np.asarray(country_hits, dtype=bool)[None]
    out = {k: float(v[0]) for k, v in _metrics(d[None], hits).items()}
    out["n"] = int(d.size)
    return out


def _metrics(d, hits=None) -> dict:
    """Every metric along the last axis of ``d`` (rows = bootstrap resamples), as arrays."""
    out = {f"acc@{t}km": 100.0 * (d <= t).mean(-1) for t in THRESHOLDS_KM}
    q1, median, q3 = np.percentile(d, [25, 50, 75], axis=-1)
    out.update(median_km=median, mean_km=d.mean(-1), q1_km=q1, q3_km=q3, geoscore=geoscore(d).mean(-1))
    if hits is not None:
        out["country_acc"] = 100.0 * hits.astype(np.float64).mean(-1)
    return out


def bootstrap_rows(n: int, n_boot: int = N_BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """(n_boot, n) row indices drawn with replacement; the same for every call with the same n."""
    return np.random.default_rng([seed, n]).integers(0, n, (n_boot, n))


def interval(samples) -> list:
    """The central 95 % of bootstrap samples."""
    lo, hi = np.percentile(np.asarray(samples, dtype=np.float64), [2.5, 97.5])
    return [float(lo), float(hi)]


def verdict(difference_ci, metric: str) -> str:
    """Reproduced / not reproduced / inconclusive from the interval of (claimed better - worse)."""
    lo, hi = difference_ci
    if metric in LOWER_IS_BETTER:
        lo, hi = -hi, -lo
    return "reproduced" if lo > 0 else "not reproduced" if hi < 0 else "inconclusive"


def unit(metric: str) -> str:
    return " points" if metric.startswith(("acc@", "country")) else " km" if metric.endswith("_km") else ""


@dataclass
class Claim:
    """A published claim measured here: ``better`` beats ``worse`` on ``metric`` in ``region``."""

    claim: str
    source: str
    better: str
    worse: str
    metric: str
    region: str
    value_better: float
    value_worse: float
    difference: float
    ci95: list
    verdict: str
    expected: str | None = None
    note: str = ""

    @property
    def holds(self) -> bool:
        return self.expected is None or self.verdict == self.expected

    def sentence(self) -> str:
        """One line for the text: the verdict, the difference and its interval."""
        u = unit(self.metric)
        lo, hi = self.ci95
        return (f"**{self.verdict}**: {self.metric} {self.value_better:.1f} vs {self.value_worse:.1f}, "
                f"difference {self.difference:+.1f}{u} (95 % CI {lo:+.1f} to {hi:+.1f})")


@dataclass
class _Evaluated:
    rows: str  # fingerprint of the evaluated rows' true coordinates
    pred_lat: np.ndarray
    pred_lon: np.ndarray
    d: np.ndarray
    hits: np.ndarray | None
    info: dict = field(default_factory=dict)


class Results:
    """Collects ``method -> {region: metrics}`` for one chapter, its claims, and writes
    ``results/<chapter>.json`` (plus the per-image predictions, for the comparison chapter).

    >>> res = Results("data_and_metrics", profile="ci", seed=0)
    >>> res.add("prior", pred_lat, pred_lon, test_meta)             # doctest: +SKIP
    >>> res.claim("beats the prior", "method", "prior", "acc@750km") # doctest: +SKIP
    >>> res.finish()                                                # doctest: +SKIP
    """

    def __init__(self, chapter: str, profile: str = "ci", seed: int = 0, root="results", assert_claims: bool = True,
                 images: dict | None = None):
        self.chapter, self.profile, self.seed, self.assert_claims = chapter, profile, seed, assert_claims
        self.images = images or {}  # the chapter's image sets, whose skipped images the results report
        self.regions = REGIONS  # what add() breaks results down by; a chapter may add scenes
        self.root = Path(root)
        self.path = self.root / f"{chapter}.json"
        self.evaluated: dict[str, _Evaluated] = {}
        self.metas: dict[str, pd.DataFrame] = {}
        self.methods: dict[str, dict] = {}
        self.claims: list[Claim] = []
        self.failed: list[str] = []
        self.started = time.perf_counter()

    # --- evaluation -----------------------------------------------------------------------------

    def add(self, method: str, pred_lat, pred_lon, meta: pd.DataFrame, pred_country=None, regions=None, **info):
        """Evaluate one method on ``meta`` (lat, lon, continent[, country]) and record it.

        Without ``pred_country``, the predicted points are geocoded with the same offline gazetteer
        that labelled the data, so every method gets a country accuracy. Returns the Global row.
        """
        if pred_country is None and "country" in meta:
            from .data.places import countries

            pred_country = countries(pred_lat, pred_lon)
        true_lat, true_lon = meta["lat"].to_numpy(np.float64), meta["lon"].to_numpy(np.float64)
        rows = cache.fingerprint(np.stack([true_lat, true_lon]))
        self.metas.setdefault(rows, meta.reset_index(drop=True))
        plat, plon = np.asarray(pred_lat, np.float64), np.asarray(pred_lon, np.float64)
        d = haversine(plat, plon, true_lat, true_lon)
        hits = _hits(pred_country, meta["country"].to_numpy() if "country" in meta else None)
        self.evaluated[method] = _Evaluated(rows, plat, plon, d, hits, info)
        self.methods[method] = {}
        for region, mask in self._masks(rows, regions or self.regions).items():
            self.methods[method][region] = summarize(d[mask], None if hits is None else hits[mask])
        return self.methods[method]["Global"]

    def add_extra(self, method: str, predict, splits: dict, **info) -> None:
        """Evaluate ``method`` on every extra test set the run has (unseen places, an eval set):
        ``predict(split name) -> (lat, lon)``; recorded as ``method + suffix``."""
        for split, suffix in EXTRA_SPLITS.items():
            if split in splits:
                self.add(method + suffix, *predict(split), splits[split].meta, **info)

    def predicted(self, method: str):
        """(pred_lat, pred_lon) of ``method``, in the order of the rows it was evaluated on."""
        return self.evaluated[method].pred_lat, self.evaluated[method].pred_lon

    def errors(self, method: str) -> np.ndarray:
        """Error distance (km) of every row of ``method``."""
        return self.evaluated[method].d

    def _masks(self, rows: str, regions=REGIONS) -> dict:
        """Boolean rows of each region: all for "Global", else the rows whose continent (or scene,
        or another of :data:`GROUP_COLUMNS`) has that value; regions without rows are left out."""
        meta = self.metas[rows]
        out = {}
        for region in regions:
            mask = np.ones(len(meta), bool) if region == "Global" else np.zeros(len(meta), bool)
            for col in GROUP_COLUMNS:
                if region != "Global" and col in meta:
                    mask |= meta[col].to_numpy() == region
            if mask.any():
                out[region] = mask
        return out

    def _samples(self, method: str, region: str) -> dict:
        """Bootstrap samples of every metric of ``method`` in ``region`` (paired across methods)."""
        ev = self.evaluated[method]
        mask = self._masks(ev.rows, (region,))[region]
        idx = bootstrap_rows(int(mask.sum()))
        d, hits = ev.d[mask], None if ev.hits is None else ev.hits[mask]
        return _metrics(d[idx], None if hits is None else hits[idx])

    def point(self, method: str, region: str = "Global") -> dict:
        """The metrics of ``method`` in ``region`` (computed and kept if ``add`` did not break it down so)."""
        if region not in self.methods[method]:
            ev = self.evaluated[method]
            mask = self._masks(ev.rows, (region,))[region]
            self.methods[method][region] = summarize(ev.d[mask], None if ev.hits is None else ev.hits[mask])
        return self.methods[method][region]

    def intervals(self, method: str, region: str = "Global") -> dict:
        """95 % bootstrap interval of every metric of ``method`` in ``region``."""
        return {m: interval(s) for m, s in self._samples(method, region).items()}

    # --- claims and checks ----------------------------------------------------------------------

    def claim(self, claim: str, better: str, worse: str, metric: str, region: str = "Global", source: str = "",
              expect: str | None = None, note: str = "") -> Claim:
        """Measure whether ``better`` beats ``worse`` on ``metric`` (paired bootstrap) and record it.

        ``expect``: the verdict the notebook asserts (when the profile asserts claims), or None to
        report only. Expect only what held for every seed tried.
        """
        if expect is not None and expect not in VERDICTS:
            raise ValueError(f"expect must be one of {VERDICTS}, not {expect!r}")
        va, vb, ci = self.difference(better, worse, metric, region)
        c = Claim(claim, source, better, worse, metric, region, va, vb, va - vb, ci, verdict(ci, metric),
                  expect if self.assert_claims else None, note)
        self.claims = [x for x in self.claims if x.claim != claim] + [c]
        return c

    def difference(self, better: str, worse: str, metric: str, region: str = "Global"):
        """``(value_better, value_worse, ci95 of better - worse)`` by paired bootstrap, recording nothing."""
        if self.evaluated[better].rows != self.evaluated[worse].rows:
            raise ValueError(f"{better!r} and {worse!r} were evaluated on different test rows; a paired comparison "
                             "needs the same rows")
        sa, sb = self._samples(better, region)[metric], self._samples(worse, region)[metric]
        return self.point(better, region)[metric], self.point(worse, region)[metric], interval(sa - sb)

    def check(self, condition, message: str) -> bool:
        """Record an assertion of the chapter; :meth:`finish` raises if any failed."""
        ok = bool(condition)
        if not ok and self.assert_claims and message not in self.failed:
            self.failed.append(message)
        return ok

    def failures(self) -> list:
        return self.failed + [f"claim '{c.claim}': expected {c.expected}, measured {c.verdict} "
                              f"({c.metric} difference {c.difference:+.2f}, 95 % CI {c.ci95[0]:+.2f} to {c.ci95[1]:+.2f})"
                              for c in self.claims if not c.holds]

    # --- tables ---------------------------------------------------------------------------------

    def table(self, region: str = "Global", columns=None) -> pd.DataFrame:
        rows = {m: r[region] for m, r in self.methods.items() if region in r}
        df = pd.DataFrame.from_dict(rows, orient="index")
        for m, ev in self.evaluated.items():
            for k, v in ev.info.items():
                if m in df.index:
                    df.loc[m, k] = v
        return df if columns is None else df[[c for c in columns if c in df]]

    def regions_table(self, columns, regions=REGIONS, axis: int = 1) -> pd.DataFrame:
        """The rounded ``columns`` of every region side by side (``axis=1``) or stacked (``axis=0``)."""
        return pd.concat({r: format_table(self.table(r, columns)) for r in regions}, axis=axis)

    def interval_table(self, methods=None, metrics=("acc@25km", "acc@750km", "acc@2500km", "median_km"),
                       region: str = "Global") -> pd.DataFrame:
        """Each metric as "value [low, high]" with its 95 % bootstrap interval."""
        out = {}
        for m in methods or self.methods:
            if region not in self.methods[m]:
                continue
            ci = self.intervals(m, region)
            out[m] = {k: _with_interval(self.methods[m][region][k], ci[k], k) for k in metrics}
        return pd.DataFrame.from_dict(out, orient="index")

    def claims_table(self) -> pd.DataFrame:
        rows = [{"claim": c.claim, "source": c.source, "metric": c.metric, "region": c.region,
                 "difference": _with_interval(c.difference, c.ci95, c.metric), "verdict": c.verdict}
                for c in self.claims]
        return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()

    # --- files ----------------------------------------------------------------------------------

    def save(self, **meta) -> Path:
        methods = {m: {r: {**v, "ci95": self.intervals(m, r)} for r, v in regions.items()}
                   for m, regions in self.methods.items()}
        main = next(iter(self.metas.values()), None)
        payload = {
            "chapter": self.chapter, "profile": self.profile, "seed": self.seed,
            "n_test": 0 if main is None else len(main),
            "test_regions": {} if main is None else {r: int(m.sum()) for r, m in
                                                     self._masks(next(iter(self.metas)), REGIONS).items()},
            "wall_time_s": round(time.perf_counter() - self.started, 1),
            "machine": platform.machine(), "evaluator": evaluator_description(),
            "methods": methods, "method_info": {m: ev.info for m, ev in self.evaluated.items() if ev.info},
            "claims": [asdict(c) for c in self.claims], "failed_assertions": self.failures(),
            "skipped_images": {k: v.skipped for k, v in self.images.items() if v.skipped}, **meta,
        }
        files.write_text(self.path, json.dumps(payload, indent=2, default=_json_default))
        self._save_predictions()
        return self.path

    def _save_predictions(self) -> None:
        groups = list(self.metas)
        arrays = {"methods": np.array(list(self.evaluated), dtype=str)}
        for g, rows in enumerate(groups):
            meta = self.metas[rows]
            arrays[f"rows{g}_lat"], arrays[f"rows{g}_lon"] = meta["lat"].to_numpy(), meta["lon"].to_numpy()
            for col in ("continent", "country"):
                if col in meta:
                    arrays[f"rows{g}_{col}"] = meta[col].astype(str).to_numpy(dtype=str)
        for i, ev in enumerate(self.evaluated.values()):
            arrays[f"m{i}_rows"] = np.array(groups.index(ev.rows))
            arrays[f"m{i}_pred"] = np.stack([ev.pred_lat, ev.pred_lon], 1)
        with files.atomic_path(self.root / f"{self.chapter}.predictions.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)

    def finish(self, **meta) -> None:
        """Save everything, then fail with every broken assertion and claim (results survive a failure)."""
        path = self.save(**meta)
        failures = self.failures()
        if failures:
            raise AssertionError(f"{len(failures)} of the chapter's assertions failed (recorded in {path.name}):\n- "
                                 + "\n- ".join(failures))
        skipped = sum(len(v.skipped) for v in self.images.values())
        print(f"{len(self.claims)} claims, {len(self.methods)} methods: results in {path.name}, "
              f"{time.perf_counter() - self.started:.0f} s since the chapter started"
              + (f"; {skipped} unreadable images were skipped (listed in the results)" if skipped else ""))


def _with_interval(value, ci, metric) -> str:
    digits = 0 if metric.endswith("_km") else 1
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def evaluator_description() -> str:
    return ("haversine, R=6371.0088 km, hit if d <= t, t in 1/25/200/750/2500 km, "
            "GeoScore=5000*exp(-d/1492.7), regions by true location, 95 % paired bootstrap (1000 resamples)")


def _chapter_output(root, name: str, chapter: str) -> Path:
    path = Path(root) / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: execute the '{chapter}' chapter first "
                                f"(geosurvey run {chapter}, or make book)")
    return path


def load_results(chapter: str, root="results") -> dict:
    return json.loads(_chapter_output(root, f"{chapter}.json", chapter).read_text())


def load_predictions(chapter: str, root="results") -> dict:
    """``{method: DataFrame(pred_lat, pred_lon, lat, lon[, continent, country])}`` as a chapter saved them."""
    with np.load(_chapter_output(root, f"{chapter}.predictions.npz", chapter)) as z:
        out = {}
        for i, name in enumerate(z["methods"]):
            g = int(z[f"m{i}_rows"])
            cols = {"pred_lat": z[f"m{i}_pred"][:, 0], "pred_lon": z[f"m{i}_pred"][:, 1],
                    "lat": z[f"rows{g}_lat"], "lon": z[f"rows{g}_lon"]}
            cols.update({c: z[f"rows{g}_{c}"] for c in ("continent", "country") if f"rows{g}_{c}" in z})
            out[str(name)] = pd.DataFrame(cols)
    return out


def format_table(df: pd.DataFrame) -> pd.DataFrame:
    """Rounded copy for display: accuracies and scores to 1 decimal, distances to whole km."""
    out = df.copy()
    for c in out.columns:
        if c.startswith("acc@") or c in ("country_acc",):
            out[c] = out[c].astype(float).round(1)
        elif c in ("median_km", "mean_km", "q1_km", "q3_km", "geoscore"):
            out[c] = out[c].astype(float).round(0).astype(int)
    return out
