"""The comparison chapter's reading of the other chapters: one representative per method family,
evaluated again on the same rows, on places near and far from the training data, with every
claim's verdict and every family's cost. Nothing is retrained."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import baselines, metrics

CHAPTERS = {  # results name: notebook
    "data_and_metrics": "01_data_and_metrics", "planet": "02_planet", "pigeon": "03_pigeon",
    "two_stage_vit": "04_two_stage_vit", "scene_networks": "05_scene_networks",
}
FLOORS = ("prior", "raw-pixel k-NN", "frozen k-NN", "direct regression")
NOVELTY_BINS = ("within 25 km", "25-100 km", "beyond 100 km")

# im2gps3k, accuracy % within 1 / 25 / 200 / 750 / 2500 km, as quoted by later papers (see the appendix)
PUBLISHED_IM2GPS3K = {
    "PlaNet": ("PlaNet, as reproduced in CPlaNet", (8.5, 24.8, 34.3, 48.4, 64.6)),
    "scene-aware": ("Müller-Budack et al. ISN(M, f*, S3)", (10.5, 28.0, 36.6, 49.7, 66.0)),
    "PIGEON": ("PIGEOTTO", (11.3, 36.7, 53.8, 72.4, 85.3)),
    "contrastive retrieval": ("GeoCLIP", (14.11, 34.47, 50.65, 69.67, 83.82)),
}


def load_chapters(cfg) -> dict:
    """``{chapter: {"results": ..., "predictions": ...}}`` for the profile and seed of ``cfg``;
    a missing or mismatched chapter is an error that says which chapter to run."""
    out = {}
    for name, notebook in CHAPTERS.items():
        results = metrics.load_results(name, cfg.results_dir)
        if (results["profile"], results["seed"]) != (cfg.name, cfg.seed):
            raise ValueError(f"{cfg.results_dir / name}.json comes from profile {results['profile']!r}, seed "
                             f"{results['seed']}; execute {notebook} with profile {cfg.name!r}, seed {cfg.seed} first "
                             f"(geosurvey run {name} --profile {cfg.name} --seed {cfg.seed})")
        out[name] = {"results": results, "predictions": metrics.load_predictions(name, cfg.results_dir)}
    return out


def families(chapters) -> dict:
    """``{family: (chapter, method)}``: the floors, then each family's headline (chosen on validation)."""
    frozen = next(m for m in chapters["data_and_metrics"]["predictions"] if m.startswith("frozen ")
                  and not m.endswith(metrics.UNSEEN))
    out = {"prior": ("data_and_metrics", baselines.PRIOR), "raw-pixel k-NN": ("data_and_metrics", baselines.RAW),
           "frozen k-NN": ("data_and_metrics", frozen), "direct regression": ("planet", "direct lat/lon regression")}
    for family, chapter in (("PlaNet", "planet"), ("PIGEON", "pigeon"), ("contrastive retrieval", "two_stage_vit"),
                            ("scene-aware", "scene_networks")):
        out[family] = (chapter, chapters[chapter]["results"]["headline"])
    return out


def novelty(distance_km) -> np.ndarray:
    """The :data:`NOVELTY_BINS` label of each distance to the nearest training location."""
    d = np.asarray(distance_km)
    return np.where(d <= 25, NOVELTY_BINS[0], np.where(d <= 100, NOVELTY_BINS[1], NOVELTY_BINS[2])).astype(object)


def _rows(chapters, chapter, method) -> pd.DataFrame:
    p = chapters[chapter]["predictions"][method]
    return p.drop(columns=["pred_lat", "pred_lon"])


def test_meta(chapters, fams: dict, nearest_km) -> pd.DataFrame:
    """The test rows every family was evaluated on (checked identical), with their novelty bin."""
    first = None
    for family, (chapter, method) in fams.items():
        rows = _rows(chapters, chapter, method)
        if first is None:
            first = rows
        elif not np.allclose(rows[["lat", "lon"]].to_numpy(), first[["lat", "lon"]].to_numpy()):
            raise ValueError(f"{family} ({chapter}) was evaluated on other test rows: re-run the chapters with one profile")
    if len(first) != len(nearest_km):
        raise ValueError(f"the chapters' test split has {len(first)} rows, this profile's {len(nearest_km)}")
    return first.assign(novelty=novelty(nearest_km))


def add_split(res, chapters, fams: dict, suffix: str = metrics.UNSEEN):
    """Add every family's predictions on an extra test set (unseen places, an eval set), if the
    chapters made them, to ``res`` under ``family + suffix``; returns those rows, or None."""
    meta = None
    for family, (chapter, method) in fams.items():
        name = method + suffix
        if name not in chapters[chapter]["predictions"]:
            return None
        p = chapters[chapter]["predictions"][name]
        meta = p.drop(columns=["pred_lat", "pred_lon"])
        res.add(family + suffix, p["pred_lat"], p["pred_lon"], meta)
    return meta


def _cell(res, method, region, metric="geoscore") -> str:
    if region not in res.methods.get(method, {}):
        return "-"
    ci = res.intervals(method, region)[metric]
    return f"{res.methods[method][region][metric]:.0f} [{ci[0]:.0f}, {ci[1]:.0f}]"


def novelty_table(res, fams, bins, has_unseen: bool) -> pd.DataFrame:
    """GeoScore [95 % CI] of every family by distance to the training data (and on unseen places)."""
    rows = {}
    for family in fams:
        row = {b: _cell(res, family, b) for b in bins}
        if has_unseen:
            row[metrics.UNSEEN_GROUP] = _cell(res, family + metrics.UNSEEN, "Global")
        rows[family] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def generalisation_claims(res, fams, has_unseen: bool) -> list:
    """Does each learned family beat the frozen k-NN (a pure look-up of known terrain) where no
    training image is near?"""
    claims = []
    for family in fams:
        if family in FLOORS:
            continue
        if has_unseen:
            claims.append(res.claim(f"{family} beats the frozen k-NN on unseen places", family + metrics.UNSEEN,
                                    "frozen k-NN" + metrics.UNSEEN, "geoscore", note="places > 100 km from any training image"))
        if NOVELTY_BINS[2] in res.methods[family]:  # a small test split may have no image that far
            claims.append(res.claim(f"{family} beats the frozen k-NN on test images beyond 100 km", family, "frozen k-NN",
                                    "geoscore", region=NOVELTY_BINS[2]))
    return claims


def generalisation_sentence(res, fams, has_unseen: bool) -> str:
    """How much of its GeoScore each family keeps far from the training data, in words."""
    parts = []
    where = "on the unseen places" if has_unseen else "on test images beyond 100 km"
    for family in fams:
        far_name, far_region = (family + metrics.UNSEEN, "Global") if has_unseen else (family, NOVELTY_BINS[2])
        if NOVELTY_BINS[0] not in res.methods[family] or far_region not in res.methods.get(far_name, {}):
            continue  # a bin without test images
        near = res.methods[family][NOVELTY_BINS[0]]["geoscore"]
        far = res.methods[far_name][far_region]["geoscore"]
        parts.append((far / near, f"{family} {near:.0f} -> {far:.0f} ({100 * far / near:.0f} %)"))
    if not parts:
        return f"This test split has no images within 25 km of a training image, or none {where}: nothing to compare."
    parts.sort(key=lambda p: -p[0])
    return (f"GeoScore within 25 km of a training image, then {where}, and the share kept, from the family that keeps "
            "most to the one that keeps least: " + "; ".join(p[1] for p in parts) + ".")


def verdict_table(chapters) -> pd.DataFrame:
    """Every claim of every chapter: chapter, source, verdict, difference [95 % CI], note."""
    rows = []
    for name, notebook in CHAPTERS.items():
        for c in chapters[name]["results"].get("claims", []):
            digits = 0 if c["metric"].endswith("_km") or c["metric"] == "geoscore" else 1
            rows.append({"chapter": notebook, "claim": c["claim"], "source": c["source"], "metric": c["metric"],
                         "region": c["region"], "verdict": c["verdict"],
                         "difference [95 % CI]": f"{c['difference']:+.{digits}f} [{c['ci95'][0]:+.{digits}f}, "
                                                  f"{c['ci95'][1]:+.{digits}f}]", "note": c.get("note", "")})
    return pd.DataFrame(rows).set_index(["chapter", "claim"])


def cost_table(chapters, fams) -> pd.DataFrame:
    """The cost each chapter measured for its family representative."""
    rows = {}
    for family, (chapter, method) in fams.items():
        cost = chapters[chapter]["results"].get("cost", {}).get(method)
        if cost:
            rows[family] = cost
    return pd.DataFrame.from_dict(rows, orient="index")


def published_table() -> pd.DataFrame:
    from .metrics import THRESHOLDS_KM

    return pd.DataFrame({family: {"method (im2gps3k, published)": m, **{f"acc@{t}km": v for t, v in zip(THRESHOLDS_KM, acc)}}
                         for family, (m, acc) in PUBLISHED_IM2GPS3K.items()}).T


def ranking_sentence(res, fams) -> str:
    """Our ranking of the learned families by GeoScore beside the published im2gps3k ranking; a
    step of ours is ">" only where the paired bootstrap interval of the difference excludes zero."""
    from .metrics import verdict

    learned = [f for f in fams if f not in FLOORS]
    ours = sorted(learned, key=lambda f: -res.methods[f]["Global"]["geoscore"])
    theirs = sorted(PUBLISHED_IM2GPS3K, key=lambda f: -PUBLISHED_IM2GPS3K[f][1][3])
    steps = [verdict(res.difference(a, b, "geoscore")[2], "geoscore") == "reproduced" for a, b in zip(ours, ours[1:])]
    ranked = f"{ours[0]} ({res.methods[ours[0]]['Global']['geoscore']:.0f})" + "".join(
        f" {'>' if clear else '≈'} {f} ({res.methods[f]['Global']['geoscore']:.0f})" for f, clear in zip(ours[1:], steps))
    same = [f for f, g in zip(ours, theirs) if f == g]
    return ("On this run the learned families rank, by GeoScore (\"≈\" where the 95 % interval of the difference "
            f"includes zero, so the order is not established): {ranked}. The published im2gps3k numbers rank them, "
            "by accuracy within 750 km: " + " > ".join(f"{f} ({PUBLISHED_IM2GPS3K[f][1][3]})" for f in theirs)
            + (f". The two point-estimate rankings agree on the position of {', '.join(same)}." if same else
               ". The two point-estimate rankings agree on no position."))


def lessons(verdicts: pd.DataFrame) -> str:
    """The papers' claims grouped by verdict, in words."""
    published = verdicts[(verdicts["source"].str.len() > 0) & (verdicts["source"] != "GeoTiles design")]
    parts = []
    for verdict in metrics.VERDICTS:
        claims = published[published["verdict"] == verdict].index.get_level_values("claim").tolist()
        if claims:
            parts.append(f"**{verdict}** ({len(claims)}): " + "; ".join(claims))
    return "\n\n".join(parts)
