"""``batch export-dataset``: the MuVi-Sync layout of ``export-dataset``, from the batch's features.

The layout is written by the one-video code (:func:`export_dataset`), into a hidden staging
folder inside the dataset root, and then moved into place file by file (``os.replace``), the
metadata last. The features come from the feature cache the batch filled, so the files are the
ones ``export-dataset`` writes for the same videos. Ids number the videos that were analysed,
in file-name order; failed videos are left out (and listed in the manifest).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from v2m_bridge.batch.manifest import DONE, Manifest
from v2m_bridge.batch.plan import AnalysisPlan, BatchError
from v2m_bridge.data.muvi_sync import META_DIR, export_dataset

EXPORTED = "exported"  # manifest.extra: the videos of the last complete export, in id order


def check_export_allowed(plan: AnalysisPlan, allow_fallback: bool) -> None:
    """Refuse before any work what ``export-dataset`` would refuse after the first video."""
    if not plan.uses_clip and not allow_fallback:
        raise BatchError("no CLIP ViT-L-14-336 weights found (--clip-weights PATH or "
                         "$V2M_CLIP_WEIGHTS): the features would be the fallback (semantic = 0), "
                         "useless for training; give the weights, or pass --allow-fallback")


def write_export(videos: list[Path], manifest: Manifest, plan: AnalysisPlan, root: Path, *,
                 allow_fallback: bool, processed_any: bool) -> tuple[list[str], bool]:
    """Write the layout of the ``done`` videos under ``root``; returns (ids, written).

    Nothing is written when the same videos were exported by the previous run and none was
    processed again (a rerun does no work).
    """
    records = manifest.records
    done = [video for video in videos
            if (record := records.get(str(video))) is not None and record.status == DONE]
    names = [str(video) for video in done]
    if not done:
        return [], False
    if (not processed_any and manifest.previous_extra.get(EXPORTED) == names
            and (root / META_DIR / "idlist.txt").is_file()):
        manifest.extra[EXPORTED] = names
        lines = (root / META_DIR / "idlist.txt").read_text().splitlines()
        return [line.split("-", 1)[0] for line in lines if line], False
    cache = plan.cache()

    def from_cache(video: Path):
        features = cache.get(records[str(video)].key)
        if features is None:
            raise BatchError(f"the features of {video} vanished from the cache "
                             f"{plan.cache_dir} during the batch; run it again")
        return replace(features, source=str(video))

    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".v2m-export-", dir=root))
    try:
        ids = export_dataset(done, staging, from_cache, allow_fallback=allow_fallback)
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        meta = [p for p in files if p.relative_to(staging).parts[0] == META_DIR.parts[0]]
        for source in [p for p in files if p not in meta] + meta:  # metadata last
            target = root / source.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest.extra[EXPORTED] = names
    manifest.save()
    return ids, True

