"""Where the tests find ``shared/`` (the test videos, corpora and official fixtures), and how they
skip when it is absent.

``shared/`` sits beside the repository checkout (``../shared``) in CI and on the development
machines. A bare clone or an unpacked wheel has none; every test that needs it then skips with
the same reason, which names the missing path. The demo and the first-run tests need nothing
from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VIDEOS = SHARED / "data" / "videos"


def skip_reason(path: Path) -> str:
    return f"shared data not found at {path} (clone the repo next to shared/)"


def shared_path(*parts: str) -> Path:
    """A file under ``shared/``; the calling test is skipped with a clear reason if it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(skip_reason(path))
    return path


def needs_shared(path: Path) -> pytest.MarkDecorator:
    """A ``skipif`` marker for tests (or modules, as ``pytestmark``) that read ``path``."""
    return pytest.mark.skipif(not path.exists(), reason=skip_reason(path))
