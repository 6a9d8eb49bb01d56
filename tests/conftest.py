"""Shared test fixtures: the ``shared/`` folder that sits beside the repository checkout, and
the tiny chord model the daemon tests run."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_helpers import TINY_AMT, OscClient
from shared_data import REPO, SHARED, shared_path, skip_reason

__all__ = ["REPO", "SHARED", "shared_path"]


@pytest.fixture(scope="session")
def official_fixtures() -> Path:
    return shared_path("fixtures", "official_amt")


@pytest.fixture(scope="session")
def videos() -> Path:
    return shared_path("data", "videos")


@pytest.fixture(scope="session")
def chord_model():
    """The tiny official-format AMT of the shared fixtures (a module may override it, e.g. with
    the shipped starter model)."""
    if not TINY_AMT.is_file():
        pytest.skip(skip_reason(TINY_AMT))
    from v2m_bridge.model.loading import load_chord_model

    return load_chord_model(TINY_AMT)


@pytest.fixture
def client(daemon):
    """An OSC client of the requesting module's ``daemon`` fixture."""
    client = OscClient(daemon.server.address)
    yield client
    client.close()
