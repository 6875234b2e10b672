"""geosurvey: the library under the book on worldwide image geolocation.

Chapters import it as ``import geosurvey as gs``; submodules are loaded on first use so
that ``import geosurvey`` stays cheap (no torch, no cartopy) for command-line tools and
tests.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "albums",
    "backbones",
    "baselines",
    "cache",
    "cells",
    "chapters",
    "claims",
    "comparison",
    "compat",
    "conventions",
    "costs",
    "data",
    "display",
    "doctor",
    "evaluation",
    "features",
    "files",
    "geo",
    "geography",
    "inputs",
    "losses",
    "maps",
    "metrics",
    "models",
    "packaged",
    "places365",
    "plans",
    "predict",
    "plots",
    "profiles",
    "regimes",
    "report",
    "results",
    "retrieval",
    "s2",
    "scenes",
    "stats",
    "timings",
    "train",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'geosurvey' has no attribute {name!r}")
