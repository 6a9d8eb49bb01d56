"""On-disk cache of analysed features, keyed by the video's content and the analysis settings.

Directory: ``$V2M_CACHE_DIR``, else ``$XDG_CACHE_HOME/v2m-bridge/features``, else
``~/.cache/v2m-bridge/features``. Entries are ordinary :class:`VideoFeatures` ``.npz`` files,
written atomically; an unreadable entry is ignored (and replaced) rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from v2m_bridge.errors import FeatureError
from v2m_bridge.features import FEATURES_FORMAT_VERSION, VideoFeatures

logger = logging.getLogger(__name__)

CACHE_DIR_ENV_VAR = "V2M_CACHE_DIR"
_HASH_CHUNK_BYTES = 1 << 20


def default_cache_dir() -> Path:
    explicit = os.environ.get(CACHE_DIR_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "v2m-bridge" / "features"


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes (so a renamed or copied video still hits the cache)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cache_key(content_digest: str, settings: dict[str, str]) -> str:
    material = json.dumps({"content": content_digest, "settings": settings,
                           "format": FEATURES_FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:32]


class FeatureCache:
    """``get``/``put`` :class:`VideoFeatures` by key in one directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_cache_dir()

    def _entry(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def get(self, key: str) -> VideoFeatures | None:
        entry = self._entry(key)
        if not entry.is_file():
            return None
        try:
            return VideoFeatures.load(entry)
        except (FeatureError, OSError) as err:
            logger.warning("ignoring unreadable cache entry %s: %s", entry, err)
            return None

    def put(self, key: str, features: VideoFeatures) -> None:
        """Store ``features``; a cache that cannot be written is reported, never fatal."""
        temporary: Path | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, suffix=".tmp",
                                             delete=False) as handle:
                temporary = Path(handle.name)
            features.save(temporary)
            os.replace(temporary, self._entry(key))
        except OSError as err:
            logger.warning("could not write the feature cache in %s: %s", self.directory, err)
            if temporary is not None:
                temporary.unlink(missing_ok=True)
