import pytest
import torch

from geosurvey import train


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def _batches(x, y, seed):
    def epoch_batches(epoch):
        g = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(len(x), generator=g)
        return [(x[order[i:i + 32]], y[order[i:i + 32]]) for i in range(0, len(x), 32)]
    return epoch_batches


def _ce(model, xb, yb):
    return torch.nn.functional.cross_entropy(model(xb), yb)


def _run(epochs, ckpt, **kw):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = _problem()
    hist = train.fit(model, _batches(x, y, 0), [(x, y)], _ce, opt, epochs=epochs, checkpoint=ckpt, **kw)
    return model, hist


def test_training_learns_and_reports_throughput(tmp_path):
    _, hist = _run(5, None)
    assert hist.epochs[-1]["train_loss"] < hist.epochs[0]["train_loss"]
    assert all(e["train_images_per_s"] > 0 for e in hist.epochs)


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    full, _ = _run(4, tmp_path / "a.pt")
    _run(2, tmp_path / "b.pt")  # "interrupted" after 2 epochs
    resumed, hist = _run(4, tmp_path / "b.pt")
    assert [e["epoch"] for e in hist.epochs] == [1, 2, 3, 4]
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_finished_checkpoint_returns_best_weights_without_training(tmp_path):
    first, hist = _run(3, tmp_path / "c.pt")
    again, hist2 = _run(3, tmp_path / "c.pt")
    assert len(hist2.epochs) == 3
    for a, b in zip(first.parameters(), again.parameters()):
        assert torch.equal(a, b)


def test_early_stopping_restores_the_best_epoch(tmp_path):
    scores = iter([0.5, 0.7, 0.6, 0.6, 0.6, 0.9])

    def evaluate(model):
        return {"val_acc": next(scores)}

    _, hist = _run(6, None, evaluate=evaluate, monitor="val_acc", mode="max", patience=2)
    assert hist.stopped_early and len(hist.epochs) == 4 and hist.best_epoch == 2


def test_unknown_monitor_is_an_error():
    with pytest.raises(KeyError, match="monitor"):
        _run(1, None, monitor="val_acc")


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
    assert train.select_device("auto") == "cuda" and train.select_device("cuda:1") == "cuda:1"


def test_history_reports_the_training_time_it_recorded(tmp_path):
    _, hist = _run(3, tmp_path / "t.pt")
    assert hist.train_seconds == pytest.approx(sum(e["seconds"] for e in hist.epochs)) and hist.train_seconds > 0
    _, again = _run(3, tmp_path / "t.pt")  # read back from the checkpoint: the first run's time, not ~0
    assert again.train_seconds == hist.train_seconds


def test_shards_have_equal_length_and_cover_every_row(monkeypatch):
    from geosurvey.features import EpochSampler

    shards = []
    for rank in range(3):  # 10 rows on 3 processes: 4 steps each, or DistributedDataParallel would hang
        monkeypatch.setattr(train, "distributed", lambda rank=rank: (rank, 3))
        sampler = EpochSampler(10, shuffle=True, seed=1, shard=True)
        sampler.set_epoch(2)
        shards.append(sampler.indices().tolist())
        assert len(shards[-1]) == len(sampler) == 4
    assert sorted(set(sum(shards, []))) == list(range(10)) and len(sum(shards, [])) == 12
