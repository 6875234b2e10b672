"""The training loop (geosurvey.train): per-regime best epochs, early stopping,
checkpoints that resume exactly, and the optimiser's parameter groups."""

import pytest
import torch

from geosurvey import models, train


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def _batches(x, y, seed):
    def epoch_batches(epoch):
        g = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(len(x), generator=g)
        return [
            (x[order[i : i + 32]], y[order[i : i + 32]]) for i in range(0, len(x), 32)
        ]

    return epoch_batches


def _ce(model, xb, yb):
    return torch.nn.functional.cross_entropy(model(xb), yb)


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    )


def _run(epochs, ckpt, train_data=None, **kw):
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = _problem()
    return train.fit(
        model,
        train_data or _batches(x, y, 0),
        [(x, y)],
        _ce,
        opt,
        epochs=epochs,
        checkpoint=ckpt,
        **kw,
    )


def _scores(**columns):
    """An ``evaluate`` that reports the given score of each epoch and records the
    weights it saw."""
    seen = []

    def evaluate(model):
        seen.append(train.trainable_state(model))
        return {name: values[len(seen) - 1] for name, values in columns.items()}

    return evaluate, seen


def _no_training(epoch):
    raise AssertionError("a finished run must not train again")


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_learns_and_reports_throughput():
    trained = _run(5, None)
    hist = trained.history
    assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]
    assert all(e["train_images_per_s"] > 0 for e in hist.epochs)
    assert hist.column("epoch") == [1, 2, 3, 4, 5] and "val_loss" in hist.epochs[0]
    # the default monitor: the validation loss, minimised
    assert list(hist.best) == ["seen"]
    losses = hist.column("val_loss")
    assert hist.best["seen"]["epoch"] == losses.index(min(losses)) + 1
    assert hist.best["seen"]["score"] == min(losses)


def test_each_monitor_keeps_the_weights_of_its_own_best_epoch():
    evaluate, seen = _scores(
        val_a=[0.1, 0.9, 0.5, 0.4, 0.3], val_b=[0.1, 0.2, 0.3, 0.8, 0.5]
    )
    trained = _run(
        5,
        None,
        evaluate=evaluate,
        monitors={"seen": "val_a", "new": "val_b"},
        mode="max",
    )
    assert trained.history.best == {
        "seen": {"epoch": 2, "score": 0.9},
        "new": {"epoch": 4, "score": 0.8},
    }
    assert _same(trained.states["seen"], seen[1]) and _same(
        trained.states["new"], seen[3]
    )
    assert not _same(seen[1], seen[3])
    # fit returns the first monitor's weights
    assert _same(train.trainable_state(trained.model), seen[1])
    assert _same(train.trainable_state(trained.net("new")), seen[3])
    assert _same(train.trainable_state(trained.net("seen")), seen[1])
    # no such monitor: the first one's
    assert _same(train.trainable_state(trained.net("eval")), seen[1])


def test_minimising_monitors_keep_their_lowest_epoch():
    evaluate, seen = _scores(val_median_km=[900.0, 500.0, 700.0])
    trained = _run(
        3, None, evaluate=evaluate, monitors={"seen": "val_median_km"}, mode="min"
    )
    assert trained.history.best["seen"] == {"epoch": 2, "score": 500.0}
    assert _same(trained.states["seen"], seen[1])


def test_early_stopping_waits_until_no_monitor_improved_for_patience_epochs():
    a = [0.5, 0.7, 0.6, 0.6, 0.6, 0.6, 0.9, 0.9]
    b = [0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.4, 0.4]
    one = _run(
        8,
        None,
        evaluate=_scores(val_a=a)[0],
        monitors={"seen": "val_a"},
        mode="max",
        patience=2,
    )
    assert (
        one.history.stopped_early
        and len(one.history.epochs) == 4
        and one.history.best["seen"]["epoch"] == 2
    )
    two = _run(
        8,
        None,
        evaluate=_scores(val_a=a, val_b=b)[0],
        monitors={"seen": "val_a", "new": "val_b"},
        mode="max",
        patience=2,
    )
    # "new" still improved at epoch 4, so training goes on until epoch 6
    assert two.history.stopped_early and len(two.history.epochs) == 6
    assert two.history.best == {
        "seen": {"epoch": 2, "score": 0.7},
        "new": {"epoch": 4, "score": 0.4},
    }
    never = _run(
        8, None, evaluate=_scores(val_a=a)[0], monitors={"seen": "val_a"}, mode="max"
    )
    assert not never.history.stopped_early and len(never.history.epochs) == 8


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    full = _run(4, tmp_path / "a.pt")
    _run(2, tmp_path / "b.pt")  # "interrupted" after 2 epochs
    resumed = _run(4, tmp_path / "b.pt")
    assert [e["epoch"] for e in resumed.history.epochs] == [1, 2, 3, 4]
    a, b = (torch.load(tmp_path / f"{n}.pt", weights_only=False) for n in "ab")
    assert a["epoch"] == b["epoch"] == 3
    assert _same(a["model"], b["model"])  # the last epoch's weights
    assert (
        _same(full.states["seen"], resumed.states["seen"])
        and full.history.best == resumed.history.best
    )
    for x, y in zip(full.history.epochs, resumed.history.epochs):
        assert x["train_loss"] == y["train_loss"] and x["val_loss"] == y["val_loss"]


def test_a_finished_checkpoint_returns_its_best_weights_without_training(tmp_path):
    first = _run(3, tmp_path / "c.pt", meta={"note": "kept"})
    assert first.path == tmp_path / "c.pt"
    assert torch.load(tmp_path / "c.pt", weights_only=False)["meta"] == {"note": "kept"}
    again = _run(3, tmp_path / "c.pt", train_data=_no_training)
    assert len(again.history.epochs) == 3 and again.history.best == first.history.best
    assert _same(train.trainable_state(again.model), train.trainable_state(first.model))
    # the time it took, not ~0
    assert again.history.train_seconds == first.history.train_seconds > 0
    # more epochs continue a run that did not stop early
    longer = _run(5, tmp_path / "c.pt")
    assert [e["epoch"] for e in longer.history.epochs] == [1, 2, 3, 4, 5]


def test_a_run_that_stopped_early_is_finished_even_with_more_epochs(tmp_path):
    a = [0.5, 0.7, 0.6, 0.6]
    _run(
        8,
        tmp_path / "e.pt",
        evaluate=_scores(val_a=a)[0],
        monitors={"seen": "val_a"},
        mode="max",
        patience=2,
    )
    again = _run(
        20,
        tmp_path / "e.pt",
        train_data=_no_training,
        monitors={"seen": "val_a"},
        mode="max",
        patience=2,
    )
    assert again.history.stopped_early and len(again.history.epochs) == 4


def test_unknown_monitor_and_mode_are_errors():
    with pytest.raises(KeyError, match="monitor 'val_acc'"):
        _run(1, None, monitors={"seen": "val_acc"})
    with pytest.raises(ValueError, match="mode"):
        _run(1, None, mode="largest")


def _network():
    torch.manual_seed(0)
    trunk = torch.nn.Linear(4, 6)
    top = torch.nn.Sequential(
        torch.nn.Linear(6, 6), torch.nn.BatchNorm1d(6), torch.nn.Linear(6, 6)
    )
    return models.Network(top, torch.nn.Linear(6, 3), trunk)


def test_the_optimizer_leaves_frozen_layers_out_and_slows_the_top():
    net = _network()
    net.top[0].requires_grad_(False)  # a frozen layer of the top
    opt = train.optimizer(
        net, train.Recipe(epochs=1, lr=1e-3, top_lr_scale=0.1, weight_decay=0.05)
    )
    top_group, rest_group = opt.param_groups
    ids = lambda group: {id(p) for p in group["params"]}  # noqa: E731
    assert ids(top_group) == {
        id(p) for m in (net.top[1], net.top[2]) for p in m.parameters()
    }
    assert ids(rest_group) == {id(p) for p in net.head.parameters()}
    assert top_group["lr"] == pytest.approx(1e-4) and rest_group["lr"] == pytest.approx(
        1e-3
    )
    assert top_group["weight_decay"] == 0.05
    frozen = {id(p) for p in (*net.trunk.parameters(), *net.top[0].parameters())}
    assert not frozen & (ids(top_group) | ids(rest_group))
    plain = train.optimizer(torch.nn.Linear(3, 2), train.Recipe(epochs=1, lr=2e-3))
    # no top: one group
    assert len(plain.param_groups) == 1 and plain.param_groups[0]["lr"] == 2e-3


def test_trainable_state_leaves_out_the_frozen_trunk():
    net = _network()
    state = train.trainable_state(net)
    assert state and not any(k.startswith("trunk.") for k in state)
    assert {k for k in net.state_dict() if not k.startswith("trunk.")} == set(state)
    state["head.weight"] += 1.0  # a copy: changing it leaves the model alone
    assert not torch.equal(state["head.weight"], net.head.weight)
    other = _network()
    with torch.no_grad():
        other.head.weight.add_(5.0)
    train.load_trainable(net, train.trainable_state(other))
    assert torch.equal(net.head.weight, other.head.weight)
    with pytest.raises(KeyError, match="do not fit"):
        train.load_trainable(
            net, {**train.trainable_state(other), "extra.weight": torch.zeros(1)}
        )
    with pytest.raises(KeyError, match="do not fit"):
        train.load_trainable(
            net,
            {k: v for k, v in train.trainable_state(other).items() if k != "head.bias"},
        )


def test_device_selection_follows_what_the_machine_has(monkeypatch):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and torch.backends.mps.is_available():
        expected = "mps"
    assert train.select_device("auto") == expected
    assert train.select_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA"):
        train.select_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert (
        train.select_device("auto") == "cuda"
        and train.select_device("cuda:1") == "cuda:1"
    )


def test_shards_have_equal_length_and_cover_every_row(monkeypatch):
    from geosurvey import features
    from geosurvey.features import EpochSampler

    shards = []
    # 10 rows on 3 processes: 4 steps each, or DistributedDataParallel would hang
    for rank in range(3):
        monkeypatch.setattr(features, "distributed", lambda rank=rank: (rank, 3))
        sampler = EpochSampler(10, shuffle=True, seed=1, shard=True)
        sampler.set_epoch(2)
        shards.append(sampler.indices().tolist())
        assert len(shards[-1]) == len(sampler) == 4
    assert (
        sorted(set(sum(shards, []))) == list(range(10)) and len(sum(shards, [])) == 12
    )
