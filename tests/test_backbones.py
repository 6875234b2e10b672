import copy

import numpy as np
import pytest
import torch
from PIL import Image

from geosurvey import backbones, features

# ImageNet tabby, tiger cat, Persian, Siamese, Egyptian cat
CATS = {281, 282, 283, 284, 285}
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug


def _classify(name, img):
    model = backbones.create(name, num_classes=1000)[0].eval()
    cfg = model.pretrained_cfg
    x = features.image_transform(cfg["mean"], cfg["std"], 224)(Image.fromarray(img))
    with torch.no_grad():
        return model(x[None]).softmax(-1)[0]


@pytest.mark.parametrize("name", sorted(backbones.BUNDLED))
def test_bundled_weights_recognise_real_photos(name):
    from skimage import data

    p = _classify(name, data.chelsea())  # a photo of a cat
    assert int(p.argmax()) in CATS and float(p[list(CATS)].sum()) > 0.5
    assert int(_classify(name, data.coffee()).argmax()) in COFFEE


def test_create_reports_weights_and_feature_size():
    model, info = backbones.create("mobilenetv2_100")
    assert "ImageNet" in info.weights and info.num_features == 1280
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 1280)
    _, rand = backbones.create("mobilenetv2_100", weights=None)
    assert "random" in rand.weights


def test_unavailable_weights_fail_fast_with_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="no offline weights"):
        backbones.create("resnet18")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        backbones.create("resnet18", weights=str(tmp_path / "missing.pth"))


def test_load_in_order_checks_shapes():
    model, _ = backbones.create("mobilenetv2_100", weights=None, num_classes=1000)
    state = {k: torch.zeros(1) for k in model.state_dict()}
    with pytest.raises(ValueError, match="shape mismatch"):
        backbones.load_in_order(model, state)
    tensors = [
        v
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    ]
    good = {f"x{i}": v.clone() + 1 for i, v in enumerate(tensors)}
    backbones.load_in_order(model, good)
    assert np.allclose(
        next(iter(model.state_dict().values())).numpy(),
        next(iter(good.values())).numpy(),
    )


def test_describe_matches_create_without_loading_weights():
    info = backbones.describe("tf_efficientnet_lite0")
    _, built = backbones.create("tf_efficientnet_lite0")
    assert (info.num_features, info.mean, info.std) == (
        built.num_features,
        built.mean,
        built.std,
    )
    assert backbones.trunk_tap("tf_efficientnet_lite0", 0) == "blocks.6"
    assert backbones.trunk_tap("tf_efficientnet_lite0", 2) == "blocks.4"


@pytest.mark.parametrize("top_stages", [0, 1])
def test_split_top_computes_its_modules_in_turn(top_stages):
    """The top's pointwise path (one matrix product and a batch norm over positions)
    gives the outputs, gradients and running statistics of its modules run in turn."""
    trunk, top = backbones.split(
        backbones.create("tf_efficientnet_lite0")[0], top_stages
    )
    assert type(top) is not torch.nn.Sequential  # the fast path is the one tested
    twin = copy.deepcopy(top)
    plain = torch.nn.Sequential(*twin)  # the same modules, run one after another
    x = trunk(torch.rand(8, 3, 64, 64)).detach()
    out, ref = top.train()(x), plain.train()(x)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    out.square().sum().backward()
    ref.square().sum().backward()
    for a, b in zip(top.parameters(), twin.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(top[-2].running_var, twin[-2].running_var)
