"""Progress bars for long work: notebook widgets in Jupyter, text in a terminal.

``TQDM_DISABLE=1`` (set by ``make book`` and ``make test``) turns them off everywhere,
including in notebook kernels, where ``tqdm.notebook`` would otherwise ignore that
variable.
"""

from __future__ import annotations

import os

from tqdm.auto import tqdm


def bar(iterable=None, desc: str = "", **kwargs):
    disabled = os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes")
    return tqdm(iterable, desc=desc, leave=False, disable=disabled, **kwargs)
