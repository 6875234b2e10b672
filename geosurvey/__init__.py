"""geosurvey: the library under the book on worldwide image geolocation.

Chapters import it as ``import geosurvey as gs``; submodules are loaded on first use so
that ``import geosurvey`` stays cheap (no torch, no cartopy) for command-line tools and
tests.
"""

import importlib
import pkgutil

__version__ = "0.1.0"

# every module of the package, found on disk so that the list never goes stale
_SUBMODULES = {m.name for m in pkgutil.iter_modules(__path__)}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'geosurvey' has no attribute {name!r}")
