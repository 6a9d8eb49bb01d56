"""Shared test fixtures: the ``shared/`` folder that sits beside the repository checkout."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_helpers import OscClient
from shared_data import REPO, SHARED, shared_path

__all__ = ["REPO", "SHARED", "shared_path"]


@pytest.fixture(scope="session")
def official_fixtures() -> Path:
    return shared_path("fixtures", "official_amt")


@pytest.fixture(scope="session")
def videos() -> Path:
    return shared_path("data", "videos")


@pytest.fixture
def client(daemon):
    """An OSC client of the requesting module's ``daemon`` fixture."""
    client = OscClient(daemon.server.address)
    yield client
    client.close()
