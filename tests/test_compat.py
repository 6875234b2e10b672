import subprocess
import sys


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()


def test_torchvision_and_timm_import_and_build_models():
    out = _run(
        "import geosurvey.compat as c; patched = c.ensure_torchvision();"
        "import torch, torchvision, timm, torchvision.models as tm;"
        "assert tm.resnet18().fc.out_features == 1000;"
        "m = timm.create_model('vit_tiny_patch16_224', pretrained=False, "
        "num_classes=0);"
        "assert m(torch.zeros(1, 3, 224, 224)).shape == (1, 192);"
        "print(patched, c._torchvision_ops_load())"
    )
    patched, ops_load = out
    # the patch is applied exactly when torchvision's own compiled ops cannot load
    assert (patched == "True") == (ops_load == "False"), out


def test_plain_import_fails_without_the_patch_exactly_when_ops_do_not_load():
    (ops_load,) = _run("import geosurvey.compat as c; print(c._torchvision_ops_load())")
    result = subprocess.run(
        [sys.executable, "-c", "import torchvision"], capture_output=True, text=True
    )
    if ops_load == "False":
        assert result.returncode != 0 and "torchvision::nms" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


def test_patch_is_applied_once_and_is_idempotent():
    out = _run(
        "import geosurvey.compat as c; a = c.ensure_torchvision(); "
        "b = c.ensure_torchvision();"
        "print(a, b, c._torchvision_ops_load())"
    )
    first, second, ops_load = out
    assert first == second == ("True" if ops_load == "False" else "False")
