import os

import pytest

# Never wait on the model hub in tests: weights come from the bundled packages.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch):
    """A private cache root so tests never read entries made by the book."""
    monkeypatch.setenv("GEOSURVEY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
