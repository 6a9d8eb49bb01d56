"""``v2m-bridge cache info`` and ``v2m-bridge cache clear``: the feature cache on disk."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    cache = subparsers.add_parser(
        "cache", help="show or empty the feature cache",
        description="The feature cache keeps analysed videos' features, keyed by content, in "
        "$V2M_CACHE_DIR (else $XDG_CACHE_HOME/v2m-bridge/features or "
        "~/.cache/v2m-bridge/features). It is capped at $V2M_CACHE_MAX_MB megabytes (default "
        "1024); the least recently used entries go first.")
    cache.add_argument("action", choices=("info", "clear"),
                       help="info: folder, entries, size and cap; clear: remove every entry")
    cache.add_argument("--dir", type=Path, help="a cache folder other than the default")
    cache.set_defaults(func=run_cache)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def run_cache(args: argparse.Namespace) -> int:
    from v2m_bridge.video.cache import FeatureCache

    cache = FeatureCache(args.dir)
    if args.action == "clear":
        removed = cache.clear()
        print(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'} from "
              f"{cache.directory}")
        return 0
    info = cache.info()
    print(f"folder:  {info.directory}")
    print(f"entries: {info.entries}")
    print(f"size:    {_megabytes(info.total_bytes)} of {_megabytes(info.max_bytes)} "
          "(least recently used entries are removed beyond that)")
    return 0
