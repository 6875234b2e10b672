"""Make torchvision (and so timm) importable next to a CPU-only torch.

The registry's torchvision 0.28.0 wheel is a CUDA build. With the CPU torch 2.13.0 wheel
its compiled operators fail to load, and ``import torchvision`` dies with ``operator
torchvision::nms does not exist`` because ``torchvision/_meta_registrations.py``
registers fake kernels for ops whose schemas were never defined. Defining the two
schemas ourselves, before torchvision is imported, is enough for the parts we use
(``torchvision.models`` and ``torchvision.transforms``, which timm imports);
``torchvision.ops`` and ``torchvision.io`` stay unusable. On a machine where
torchvision's own ops load (a matching CUDA install), nothing is changed.
"""

from __future__ import annotations

import importlib.util
import os

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None  # the torch.library.Library must stay alive or its definitions vanish
patched = False


def _torchvision_ops_load() -> bool:
    """True when torchvision's compiled extension registers its operators."""
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.submodule_search_locations is None:
        return False
    folder = list(spec.submodule_search_locations)[0]
    for name in os.listdir(folder):
        if name.startswith("_C") and name.endswith((".so", ".pyd")):
            try:
                torch.ops.load_library(os.path.join(folder, name))
            except (OSError, RuntimeError):
                return False
            return hasattr(torch.ops.torchvision, "nms")
    return False


def ensure_torchvision() -> bool:
    """Define the missing torchvision op schemas if needed; return True when a patch was
    applied."""
    global _library, patched
    if patched:
        return True
    import sys

    if "torchvision" in sys.modules or _torchvision_ops_load():
        return False
    import torch

    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS.values():
        _library.define(schema)
    patched = True
    return True
