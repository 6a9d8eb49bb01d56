"""Shared test fixtures: the ``shared/`` folder that sits beside the repository checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file under ``shared/``; the test is skipped with a clear reason if it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (clone the repo next to shared/)")
    return path


@pytest.fixture(scope="session")
def official_fixtures() -> Path:
    return shared_path("fixtures", "official_amt")


@pytest.fixture(scope="session")
def videos() -> Path:
    return shared_path("data", "videos")
