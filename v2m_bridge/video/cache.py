"""On-disk cache of analysed features, keyed by the video's content and the analysis settings.

Directory: ``$V2M_CACHE_DIR``, else ``$XDG_CACHE_HOME/v2m-bridge/features``, else
``~/.cache/v2m-bridge/features``. Entries are ordinary :class:`VideoFeatures` ``.npz`` files,
written atomically; an unreadable entry is ignored (and replaced) rather than trusted.

The cache is bounded: after each write the least recently used entries (a hit refreshes an
entry's modification time) are removed until the total is within ``$V2M_CACHE_MAX_MB``
(default :data:`DEFAULT_CACHE_MAX_MB`), except entries a batch pinned while it runs (see
:meth:`FeatureCache.pin`). ``v2m-bridge cache info|clear`` shows or empties it. Only
files named like entries (32 hex digits, ``.npz``) and stale temporary files are ever removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from v2m_bridge.errors import FeatureError
from v2m_bridge.features import FEATURES_FORMAT_VERSION, VideoFeatures

logger = logging.getLogger(__name__)

CACHE_DIR_ENV_VAR = "V2M_CACHE_DIR"
CACHE_MAX_ENV_VAR = "V2M_CACHE_MAX_MB"
DEFAULT_CACHE_MAX_MB = 1024
_HASH_CHUNK_BYTES = 1 << 20
_ENTRY_NAME = re.compile(r"[0-9a-f]{32}\.npz")
_STALE_TEMPORARY_S = 3600.0  # a .tmp older than this was left by a write that died


def default_max_bytes() -> int:
    """``$V2M_CACHE_MAX_MB`` megabytes (a bad value is reported and the default used)."""
    text = os.environ.get(CACHE_MAX_ENV_VAR, "").strip()
    if text:
        try:
            megabytes = float(text)
            if megabytes >= 0 and megabytes < 1e9:
                return int(megabytes * 1024 * 1024)
        except ValueError:
            pass
        logger.warning("ignoring %s=%r (a number of megabytes is expected)", CACHE_MAX_ENV_VAR,
                       text)
    return DEFAULT_CACHE_MAX_MB * 1024 * 1024


@dataclass(frozen=True)
class CacheInfo:
    directory: Path
    entries: int
    total_bytes: int
    max_bytes: int


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
    """``get``/``put`` :class:`VideoFeatures` by key in one directory, at most ``max_bytes``."""

    def __init__(self, directory: Path | None = None, max_bytes: int | None = None) -> None:
        self.directory = directory or default_cache_dir()
        self.max_bytes = default_max_bytes() if max_bytes is None else max_bytes
        self._pinned: set[Path] = set()

    def pin(self, key: str) -> None:
        """Never prune ``key``'s entry through this object (a batch pins its own entries, so
        one larger than the cache does not evict what it still has to read or export; the
        cache may exceed its limit until another writer prunes it)."""
        self._pinned.add(self._entry(key))

    def _entry(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def get(self, key: str) -> VideoFeatures | None:
        entry = self._entry(key)
        if not entry.is_file():
            return None
        try:
            features = VideoFeatures.load(entry)
        except (FeatureError, OSError) as err:
            logger.warning("ignoring unreadable cache entry %s: %s", entry, err)
            return None
        try:
            os.utime(entry)  # recently used: pruned last
        except OSError as err:
            logger.debug("cannot touch cache entry %s: %s", entry, err)
        return features

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
            return
        self.prune(keep=self._entry(key))

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(last use, size, path) of every entry, oldest first; missing folder: none."""
        found = []
        try:
            with os.scandir(self.directory) as listing:
                for item in listing:
                    if not _ENTRY_NAME.fullmatch(item.name):
                        continue
                    try:
                        stat = item.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if item.is_file(follow_symlinks=False):
                        found.append((stat.st_mtime, stat.st_size, Path(item.path)))
        except FileNotFoundError:
            return []
        return sorted(found)

    def info(self) -> CacheInfo:
        entries = self._entries()
        return CacheInfo(self.directory, len(entries), sum(size for _, size, _ in entries),
                         self.max_bytes)

    def prune(self, keep: Path | None = None) -> int:
        """Remove least recently used entries until the total fits ``max_bytes`` (``keep``, the
        entry just written, and pinned entries stay even if they alone are bigger); returns how
        many went."""
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            if path == keep or path in self._pinned:
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as err:
                logger.warning("cannot remove cache entry %s: %s", path, err)
                continue
            total -= size
            removed += 1
        self._remove_stale_temporaries()
        return removed

    def clear(self) -> int:
        """Remove every entry; returns how many."""
        removed = 0
        for _, _, path in self._entries():
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        self._remove_stale_temporaries(max_age_s=0.0)
        return removed

    def _remove_stale_temporaries(self, max_age_s: float = _STALE_TEMPORARY_S) -> None:
        now = time.time()
        try:
            with os.scandir(self.directory) as listing:
                for item in listing:
                    if item.name.startswith("tmp") and item.name.endswith(".tmp") and \
                            item.is_file(follow_symlinks=False) and \
                            now - item.stat(follow_symlinks=False).st_mtime >= max_age_s:
                        Path(item.path).unlink(missing_ok=True)
        except OSError:
            pass
