from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.embed import register_model  # noqa: E402
from rag.settings import Settings  # noqa: E402

from .helpers import FAKE_MODEL, HashingModel  # noqa: E402

DATA = Path(__file__).parent / "data" / "corpus"
SEEDS = Path(__file__).parent.parent / "seeds"


@pytest.fixture
def fake_model() -> HashingModel:
    model = HashingModel()
    register_model(FAKE_MODEL, model)
    return model


@pytest.fixture
def fake_settings(fake_model) -> Settings:
    return Settings(model=FAKE_MODEL)


@pytest.fixture(scope="session")
def seed_index():
    """The seeds indexed with the real bundled model (built once per test session)."""
    import rag

    return rag.Index.build([SEEDS])
