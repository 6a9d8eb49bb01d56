"""The feature cache is bounded (least recently used out) and `v2m-bridge cache info|clear`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from v2m_bridge.features import SEMANTIC_DIM, VideoFeatures
from v2m_bridge.video.cache import FeatureCache

ROOT = Path(__file__).resolve().parents[1]


def features(seconds: int = 5) -> VideoFeatures:
    emotion = np.full((seconds, 6), 1 / 6, np.float32)
    return VideoFeatures(source="x.mp4", fps=25.0, duration=float(seconds),
                         semantic=np.ones((seconds, SEMANTIC_DIM), np.float32), emotion=emotion,
                         scene_offset=np.ones(seconds, np.float32),
                         motion=np.zeros(seconds, np.float32), cut_times=[], provenance="fallback")


def key(n: int) -> str:
    return f"{n:032x}"


def test_the_cache_keeps_within_its_cap_dropping_the_least_recently_used(tmp_path):
    probe = FeatureCache(tmp_path / "probe", max_bytes=1 << 40)
    probe.put(key(0), features())
    entry_size = probe.info().total_bytes
    cache = FeatureCache(tmp_path / "cache", max_bytes=3 * entry_size + entry_size // 2)
    for n in range(3):
        cache.put(key(n), features())
        os.utime(cache.directory / f"{key(n)}.npz", (1000 + n, 1000 + n))
    assert cache.get(key(0)) is not None  # a hit makes entry 0 the most recently used
    cache.put(key(3), features())
    assert cache.get(key(1)) is None  # the least recently used went
    assert all(cache.get(key(n)) is not None for n in (0, 2, 3))
    info = cache.info()
    assert info.entries == 3 and info.total_bytes <= info.max_bytes
    for _ in range(20):  # it never grows past the cap
        cache.put(key(100 + _), features())
    assert cache.info().total_bytes <= cache.max_bytes


def test_pinned_entries_stay_past_the_cap_and_the_rest_still_go(tmp_path):
    """Issue 25 item 9: a batch pins its own entries, so one larger than the cache keeps them."""
    cache = FeatureCache(tmp_path / "cache", max_bytes=1)  # smaller than any entry
    cache.put(key(50), features())  # someone else's entry
    for n in range(4):
        cache.pin(key(n))
        cache.put(key(n), features())
    assert all(cache.get(key(n)) is not None for n in range(4))
    assert cache.get(key(50)) is None  # not pinned: pruned as before
    other = FeatureCache(tmp_path / "cache", max_bytes=1)  # another writer, after the batch
    other.put(key(60), features())
    assert other.info().entries == 1  # the pins were the batch's own


def test_clear_removes_only_cache_entries(tmp_path):
    cache = FeatureCache(tmp_path, max_bytes=1 << 40)
    cache.put(key(1), features())
    (tmp_path / "notes.txt").write_text("mine")
    assert cache.clear() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_cache_command_info_and_clear(tmp_path):
    env = {**os.environ, "V2M_CACHE_DIR": str(tmp_path), "V2M_CACHE_MAX_MB": "5",
           "PYTHONPATH": str(ROOT)}
    FeatureCache(tmp_path, max_bytes=1 << 40).put(key(7), features())

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "v2m_bridge", "cache", *args], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    out = run("info")
    assert str(tmp_path) in out and "entries: 1" in out and "of 5.0 MB" in out
    assert "removed 1 cache entry" in run("clear")
    assert "entries: 0" in run("info")
