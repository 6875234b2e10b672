import numpy as np
import pandas as pd
import pytest
import torch

from geosurvey import albums, backbones, cells, inputs, models, profiles
from geosurvey.data.sets import TileSet


@pytest.mark.parametrize(
    "name,weights,px",
    [("tf_efficientnet_lite0", "auto", 96), ("vit_tiny_patch16_224", None, 224)],
)
@pytest.mark.parametrize("top_stages", [0, 2])
def test_split_halves_compose_to_the_whole_backbone(name, weights, px, top_stages):
    model, _ = backbones.create(name, weights=weights)
    model.eval()
    trunk, top = backbones.split(model, top_stages)
    x = torch.randn(2, 3, px, px, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(top(trunk(x)), model(x), atol=1e-5)
    with pytest.raises(ValueError, match="top_stages"):
        backbones.split(model, len(model.blocks) + 1)


def test_network_keeps_the_trunk_frozen_and_in_eval_mode():
    model, _ = backbones.create("tf_efficientnet_lite0")
    trunk, top = backbones.split(model, 1)
    net = models.Network(top, models.classifier_head(1280, 5), trunk).train()
    assert not trunk.training and net.top.training
    before = [p.clone() for p in trunk.parameters()]
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    torch.nn.functional.cross_entropy(
        net(torch.randn(4, 3, 64, 64)), torch.arange(4)
    ).backward()
    opt.step()
    assert all(torch.equal(a, b) for a, b in zip(before, trunk.parameters()))


def _meta(n):
    return pd.DataFrame({"lat": np.linspace(-10, 10, n), "lon": np.zeros(n)})


def test_cached_batches_cover_every_row_and_reshuffle_per_epoch():
    x = inputs.SplitInputs(_meta(10), cached=np.arange(10, dtype=np.float16)[:, None])
    batches = x.batches(np.arange(10) * 2, batch_size=4, shuffle=True, seed=0)
    first = torch.cat([b[0] for b in batches(0)]).ravel()
    assert sorted(first.tolist()) == list(range(10))
    assert all(torch.equal(xb.ravel() * 2, yb.to(xb.dtype)) for xb, yb in batches(1))
    assert not torch.equal(first, torch.cat([b[0] for b in batches(1)]).ravel())
    # same epoch, same order
    assert torch.equal(first, torch.cat([b[0] for b in batches(0)]).ravel())
    with pytest.raises(ValueError, match="targets"):
        x.batches(np.arange(3))


def test_streamed_inputs_feed_the_same_network_as_cached_ones():
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    images = TileSet(
        pd.DataFrame({"lat": np.zeros(6), "lon": np.zeros(6)}), tiles, name="t"
    )
    cfg = profiles.get("ci", device="cpu")
    streamed = inputs.of_images(
        profiles.get("ci", device="cpu", cache_trunk=False), images
    )
    assert np.array_equal(streamed.lat, images.lat)
    model, _ = backbones.create(cfg.backbone)
    trunk, top = backbones.split(model, cfg.top_stages)
    net = models.Network(top, torch.nn.Identity(), trunk)
    out_stream = inputs.predict(net, streamed.batches(None, 4))
    with torch.no_grad():
        acts = torch.cat([trunk(x) for x, _ in streamed.batches(None, 4)(0)]).numpy()
    out_cached = inputs.predict(
        models.Network(top, torch.nn.Identity()),
        inputs.SplitInputs(images.meta, cached=acts).batches(None, 4),
    )
    assert out_stream.shape == (6, 1280)
    assert np.allclose(out_stream, out_cached, atol=1e-5)


def test_hybrid_vit_and_album_lstm_shapes():
    vit = models.HybridViT(192, 9, dim=32, depth=1, heads=2)
    assert vit(torch.randn(3, 192, 3, 3)).shape == (3, 32)
    lstm = models.AlbumLSTM(16, 7, hidden=8)
    assert lstm(torch.randn(2, 5, 16)).shape == (2, 5, 7)


def test_trips_are_disjoint_local_and_cover_every_location():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(40, 50, 300), rng.uniform(-5, 15, 300)
    trips = albums.trips(lat, lon, max_len=5, radius_km=150, seed=1)
    members = np.concatenate(trips)
    assert sorted(members.tolist()) == list(range(300))
    assert max(len(t) for t in trips) == 5 and min(len(t) for t in trips) >= 1
    from geosurvey.geo import haversine

    for t in trips:
        assert np.all(haversine(lat[t[0]], lon[t[0]], lat[t], lon[t]) <= 150 + 1e-6)
    batches = list(
        albums.album_batches(
            np.zeros((300, 4)), np.arange(300), lambda e: trips, batch_size=8
        )(0)
    )
    # every photo once, no padding
    assert sum(x.shape[0] * x.shape[1] for x, _ in batches) == 300


def test_inputs_subset_keeps_rows_and_fingerprint_follows_the_bytes():
    x = inputs.SplitInputs(
        _meta(5), cached=np.arange(10, dtype=np.float32).reshape(5, 2)
    )
    sub = x.subset(np.array([False, True, False, True, False]))
    assert np.array_equal(sub.cached, [[2, 3], [6, 7]]) and np.array_equal(
        sub.lat, x.lat[[1, 3]]
    )
    assert np.array_equal(x.subset(np.array([3, 1])).cached, [[6, 7], [2, 3]])
    changed = inputs.SplitInputs(
        _meta(5), cached=x.cached + np.eye(5, 2, dtype=np.float32) * 1e-3
    )
    assert (
        x.fingerprint()
        == inputs.SplitInputs(_meta(5), cached=x.cached.copy()).fingerprint()
        != changed.fingerprint()
    )


def test_album_averaging_replaces_each_photo_by_its_album_mean():
    lp = np.log(np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]))
    out = albums.averaged(lp, [np.array([0, 1]), np.array([2])])
    assert (
        np.allclose(out[0], lp[:2].mean(0))
        and np.allclose(out[1], out[0])
        and np.allclose(out[2], lp[2])
    )


def test_cell_centres_answer_with_the_chosen_point():
    lat = np.array([10.0, 10.1, 10.2, -30.0, -30.1, -30.2])
    lon = np.array([20.0, 20.1, 20.2, 140.0, 140.1, 140.2])
    part = cells.adaptive(lat, lon, tau_max=3, tau_min=1)
    logits = np.eye(len(part))[part.assign(lat, lon)]
    plat, plon = cells.decode(logits, part, "mean")
    assert np.allclose(plat[:3], 10.1, atol=1e-3) and np.allclose(
        plat[3:], -30.1, atol=1e-3
    )
    clat, _ = cells.decode(logits, part, "center")
    assert not np.allclose(clat, plat)


def test_candidate_models_start_from_the_same_weights_every_time():
    cfg = profiles.get("ci", device="cpu")
    for make in (models.cnn_embedding_model, models.vit_embedding_model):
        first, second = make(cfg).build(), make(cfg).build()
        torch.manual_seed(123)  # whatever ran before must not matter
        third = make(cfg).build()
        for a, b, c in zip(*(m.state_dict().values() for m in (first, second, third))):
            assert torch.equal(a, b) and torch.equal(a, c)
    seed0 = models.cnn_embedding_model(cfg).build()
    seed1 = models.cnn_embedding_model(profiles.get("ci", device="cpu", seed=1)).build()
    # the seed decides
    assert not torch.equal(seed0.head.net[0].weight, seed1.head.net[0].weight)


def test_candidates_say_what_they_read_and_whether_they_are_pretrained():
    cfg = profiles.get("ci", device="cpu")
    cnn, vit = models.cnn_embedding_model(cfg, 16), models.vit_embedding_model(cfg, 16)
    assert (
        cnn.name == "CNN"
        and cnn.pretrained
        and cnn.tap is None
        and cnn.backbone == cfg.backbone
    )
    # offline: from scratch
    assert vit.name == "ViT" and not vit.pretrained and vit.tap == cfg.token_tap
    assert "from scratch" in vit.description
    net = vit.build()
    # ci reads cached activations
    assert isinstance(net.top, models.HybridViT) and net.trunk is None
    side = int(round((net.top.pos.shape[1] - 1) ** 0.5))  # the tap's square feature map
    x = torch.randn(2, net.top.embed.in_channels, side, side)
    z = net.eval()(x)
    assert z.shape == (2, 16) and torch.allclose(
        z.norm(dim=1), torch.ones(2), atol=1e-5
    )
    deeper = models.cnn_embedding_model(cfg, 16, top_stages=2)
    assert deeper.tap == backbones.trunk_tap(cfg.backbone, 2) and deeper.pretrained


def test_frozen_layers_of_the_top_stay_in_eval_mode_and_keep_their_weights():
    model, _ = backbones.create("tf_efficientnet_lite0")
    trunk, top = backbones.split(model, 2)
    backbones.freeze_top(top, 1)  # the first of the two top stages
    net = models.Network(top, models.classifier_head(1280, 3), trunk).train()
    first = top[0]
    assert not any(p.requires_grad for p in first.parameters())
    assert any(p.requires_grad for p in top[1].parameters())
    assert all(
        not m.training for m in first.modules() if list(m.parameters(recurse=False))
    )
    assert top[1].training
    stats = [
        b.running_mean.clone()
        for b in first.modules()
        if isinstance(b, torch.nn.BatchNorm2d)
    ]
    with torch.no_grad():
        net(torch.randn(4, 3, 64, 64))  # a training-mode forward pass
    after = [
        b.running_mean for b in first.modules() if isinstance(b, torch.nn.BatchNorm2d)
    ]
    assert stats and all(torch.equal(a, b) for a, b in zip(stats, after))
    backbones.freeze_top(top, None)  # all of the top: only the head trains
    assert not any(p.requires_grad for p in net.top.parameters())
    assert all(p.requires_grad for p in net.head.parameters())


def test_random_albums_keep_the_sizes_and_the_photos():
    albums_ = [
        np.array([0, 1, 2]),
        np.array([3]),
        np.array([4, 5]),
        np.array([6, 7, 8, 9]),
    ]
    shuffled = albums.random_like(albums_, seed=1)
    assert [len(a) for a in shuffled] == [3, 1, 2, 4]
    assert sorted(np.concatenate(shuffled).tolist()) == list(range(10))
    assert any(not np.array_equal(a, b) for a, b in zip(albums_, shuffled))
    again = albums.random_like(albums_, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(shuffled, again))
    other = albums.random_like(albums_, seed=2)
    assert any(not np.array_equal(a, b) for a, b in zip(shuffled, other))
