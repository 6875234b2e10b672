"""One formatting rule for every table the book shows.

``table(df)`` returns a copy of ``df`` whose cells are strings, each formatted by the
kind of its column, which the column's name tells (of a MultiIndex: its last level):

    column name (case ignored)           kind     a number shown as
    acc@*, *_acc, *%*, *accuracy*        percent  one decimal: 41.3
    *_km, * km, (km)                     km       whole km: 5,408
    *geoscore*                           score    whole points: 2,296
    n, n_*, *count*, images, cells ...   count    integer: 6,000
    year, seed, id, level, epoch ...     label    integer as it is: 2016
    anything else                        number   see below

Numbers of 1,000 and more are thousands separated, except labels. A *number* column
shows whole values as counts; other values with 2, 1 or 0 decimals as the column's
smallest non-zero magnitude is below 10, below 100 or above (below 0.01: ``1.2e-03``).
In every column a missing value is an en dash, booleans are ``yes`` / ``no``, and text
is left as it is, except intervals ``"value [lo, hi]"``, whose three numbers take the
column's format (in a *number* column: the precision they were written with, at most 2
decimals). Lists are formatted element by element, dicts as ``key: value`` with each
value formatted by its key's kind.

The result is for display only: its column labels are the reader's names of the metrics
(:func:`label`: ``acc@25km`` is "within 25 km %"), any ``@`` or ``_`` left followed by a
zero-width space (:data:`ZWSP`), where a narrow header may wrap, and intervals hold
non-breaking spaces (:data:`NBSP`), so that none is split over two lines.

``formats`` overrides the rule for named columns: a kind (``"percent"``, ``"km"``, ...),
a format string such as ``"{:.3f}"``, or a function of the cell returning its text.

>>> df = pd.DataFrame({"acc@25km": [12.345], "median_km": [2296.33], "n": [6000]})
>>> table(df).iloc[0].tolist()
['12.3', '2,296', '6,000']
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

DASH = "\u2013"
ZWSP = "\u200b"
NBSP = "\u00a0"
KINDS = ("percent", "km", "score", "count", "label", "number")
_RULES = (  # first match wins, on the lower-cased column name
    ("percent", re.compile(r"^acc@|_acc$|%|accuracy")),
    ("km", re.compile(r"(^|[_ (])km\b")),
    ("score", re.compile(r"geoscore")),
    ("label", re.compile(r"^(year|seed|id|level|epoch|rank|k)$|_id$")),
    (
        "count",
        re.compile(
            r"^n$|^n_|_n$|count|^(cells|images|tiles|photos|points|locations|samples"
            r"|classes|places|parameters|params)$"
        ),
    ),
)
_NUMBER = r"[-+]?(?:\d[\d,]*)?\.?\d+(?:e[-+]?\d+)?"
_INTERVAL = re.compile(
    rf"^\s*({_NUMBER})\s*\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]\s*$"
)


# the reader's names of the library's metric, history and label keys
NAMES = {
    "median_km": "median error (km)",
    "mean_km": "mean error (km)",
    "q1_km": "Q1 (km)",
    "q3_km": "Q3 (km)",
    "error_km": "error (km)",
    "geoscore": "GeoScore",
    "country_acc": "country %",
    "continent_acc": "continent %",
    "admin1_acc": "first-level region %",
    "n": "images",
    "best_k": "k chosen",
    "database_mb": "database (MB)",
    "train_new": "new-places training",
    "val_new": "new-places validation",
    "test_new": "new-places test",
    "train_loss": "training loss",
    "train_seconds": "training time (s)",
    "train_seconds_range": "range over the seeds (s)",
    "images_per_s_range": "range over the seeds (images per second)",
    "seeds_timed": "seeds timed",
    "epochs": "epochs trained",
    "images_per_s": "images per second",
    "parameters_m": "parameters (millions)",
    "elevation_m": "elevation (m)",
    "coast_km": "distance to the coast (km)",
    "climate": "climate zone (Köppen-Geiger)",
    "land_cover": "land cover (IGBP)",
    "tau_max": "τ max",
    "tau_min": "τ min",
    "bluemarble": "true colour",
    "relief": "shaded relief",
    "topo": "topography",
}
_WITHIN = re.compile(r"^acc@(\d+)km$")
_VALIDATION = re.compile(r"^(val_new|val)_(\w+)$")


def label(name):
    """The reader's name of a metric or a column: ``acc@25km`` is "within 25 km %",
    ``val_new_geoscore`` "new-places validation GeoScore" (``val_``: seen places); any
    other name as it is."""
    if not isinstance(name, str):
        return name
    if name in NAMES:
        return NAMES[name]
    if within := _WITHIN.match(name):
        return f"within {within[1]} km %"
    if val := _VALIDATION.match(name):
        where = (
            "new-places validation" if val[1] == "val_new" else "seen-places validation"
        )
        return f"{where} {label(val[2])}"
    return name


# a key of the library shown to a reader as it is written in the code
_INTERNAL = re.compile(
    r"(?<![\w@])(acc@\d+km|val(_new)?_\w+|\w+_(km|acc|loss|seconds|s|m)|geoscore)"
    r"(?![\w@])"
)
# every header a table showed and every label a figure drew in this session
SHOWN: set = set()


def internal_names() -> list:
    """What a reader was shown under a name only the code uses (``median_km`` where
    :func:`label` says "median error (km)"), from the headers :func:`table` made and
    the titles, axis labels and legends :func:`geosurvey.plots.figure`'s figures drew,
    one message each."""
    found = sorted({m[0] for text in SHOWN for m in _INTERNAL.finditer(text)})
    return [
        f"a table or figure shows the internal name {name!r}: name it with "
        "gs.display.label or in words"
        for name in found
    ]


def kind(column) -> str:
    """The kind of a column (one of :data:`KINDS`) from its name, by the rule above."""
    name = str(column[-1] if isinstance(column, tuple) else column).lower()
    return next((k for k, pattern in _RULES if pattern.search(name)), "number")


def table(
    df: pd.DataFrame, formats: Mapping | None = None, *, by_row: bool = False
) -> pd.DataFrame:
    """``df`` with every cell as display text, by the rule of this module; ``formats``
    maps column names to a kind, a format string or a function, for columns the rule
    does not fit. ``by_row``: the rows are the measures (a transposed table), so each
    row takes the kind of its label."""
    if by_row:
        return table(df.T, formats).T
    formats = dict(formats or {})
    last = df.columns.get_level_values(-1)  # a MultiIndex's innermost names count too
    unknown = [c for c in formats if c not in df.columns and c not in last]
    if unknown:
        raise KeyError(
            f"formats names columns the table does not have: {unknown}; "
            f"columns: {list(df.columns)}"
        )
    writers = [_formatter(c, df.iloc[:, i], formats) for i, c in enumerate(df.columns)]
    cells = {i: [_cell(v, w) for v in df.iloc[:, i]] for i, w in enumerate(writers)}
    out = pd.DataFrame(cells, index=df.index, dtype=object)
    out.columns = df.columns.map(header)
    SHOWN.update(
        str(level).replace(ZWSP, "")
        for c in out.columns
        for level in (c if isinstance(c, tuple) else (c,))
    )
    return out


def show(df: pd.DataFrame, formats: Mapping | None = None, **kw) -> None:
    """Display :func:`table` of ``df`` from anywhere in a notebook cell (a table that
    is not the cell's last expression, inside a branch, is otherwise not shown)."""
    from IPython.display import display

    display(table(df, formats, **kw))


def header(name):
    """A column's header: its :func:`label`, with a zero-width space after each ``@``
    and ``_`` left, where a narrow header may wrap instead of breaking inside a word."""
    if isinstance(name, tuple):
        return tuple(map(header, name))
    name = label(name)
    return re.sub("([@_])", "\\1" + ZWSP, name) if isinstance(name, str) else name


@dataclass(frozen=True)
class _Writer:
    """Writes the numbers of one column: by its kind, or by a caller's function."""

    kind: str = "number"
    decimals: int | None = None
    custom: Callable | None = None

    def __call__(self, x) -> str:
        if self.custom is not None:
            return self.custom(x)
        return number(x, self.kind, decimals=self.decimals)

    def interval(self, written: str, values) -> list:
        """The three numbers of an interval; a *number* column keeps the precision they
        were written with (at most 2 decimals), having no rule of its own."""
        if self.custom is None and self.kind == "number":
            places = min(len(written.partition(".")[2].split("e")[0]), 2)
            return [number(v, decimals=places) for v in values]
        return [self(v) for v in values]


def _formatter(column, cells: pd.Series, formats: dict) -> _Writer:
    """The writer of the numbers of ``column``."""
    spec = formats.get(column)
    if spec is None and isinstance(column, tuple):
        spec = formats.get(column[-1])
    if callable(spec):
        return _Writer(custom=spec)
    if isinstance(spec, str) and spec not in KINDS:
        if "{" not in spec:
            raise ValueError(
                f"format {spec!r} for column {column!r} is neither a kind {KINDS} "
                "nor a format string like '{:.2f}'"
            )
        return _Writer(custom=spec.format)
    return _Writer(spec or kind(column), _column_decimals(cells))


def number(x, kind: str = "number", *, decimals: int | None = None) -> str:
    """One number as a column of ``kind`` shows it; ``decimals`` fixes the precision of
    a *number* (by default: from its own magnitude)."""
    if math.isinf(x):
        return "\u221e" if x > 0 else "-\u221e"
    whole = float(x).is_integer()
    if kind == "percent":
        text = f"{x:,.1f}"
    elif kind in ("km", "score") or (kind == "count" and whole):
        text = f"{x:,.0f}"
    elif kind == "label" and whole:
        text = str(int(x))
    else:
        places = _decimals(abs(x), whole) if decimals is None else decimals
        text = f"{x:.1e}" if places < 0 else f"{x:,.{places}f}"
    return text[1:] if re.fullmatch(r"-0[.,0]*", text) else text


def _decimals(magnitude: float, whole: bool) -> int:
    """Decimals for a number of this size: 0 for whole ones, -1 for an exponent."""
    if whole:
        return 0
    if magnitude < 0.01:
        return -1
    return 2 if magnitude < 10 else 1 if magnitude < 100 else 0


def _column_decimals(cells: pd.Series) -> int | None:
    """One precision for the numbers of a column that its kind does not fix (of a
    *number*; of a count, those not whole): enough for its smallest non-zero magnitude,
    so that no value loses its leading digits; None without such numbers."""
    values = [abs(float(v)) for v in cells if _is_number(v) and math.isfinite(v)]
    values = [v for v in values if v > 0]
    if not values:
        return None
    return _decimals(min(values), all(v.is_integer() for v in values))


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _cell(value, write: _Writer) -> str:
    """The text of one cell."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_cell(v, _Writer(kind(k)))}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_cell(v, write) for v in value) + "]"
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return DASH
    if _is_number(value):
        return write(value)
    return _interval(value, write) if isinstance(value, str) else str(value)


def _interval(text: str, write: _Writer) -> str:
    """``"value [lo, hi]"`` with its numbers rewritten; any other text as it is."""
    match = _INTERVAL.match(text)
    if not match:
        return text
    values = [float(g.replace(",", "")) for g in match.groups()]
    value, lo, hi = write.interval(match.group(1), values)
    sign = "+" if match.group(1).startswith("+") and not value.startswith("-") else ""
    return f"{sign}{value}{NBSP}[{lo},{NBSP}{hi}]"  # one datum: never split over lines
