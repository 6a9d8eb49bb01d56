"""The summary table printed at the end of a batch (from the manifest's records)."""

from __future__ import annotations

from collections.abc import Iterable

from v2m_bridge.batch.manifest import DONE, FAILED, IGNORED, INTERRUPTED, VideoRecord

_MAX_ERRORS_LISTED = 20


def summary_lines(records: Iterable[VideoRecord], wall_s: float, *, manifest_path: str = "",
                  analyze_s: float = 0.0, compose_s: float = 0.0, clip: str = "") -> list[str]:
    records = list(records)
    now = [r for r in records if r.wall_s is not None]  # finished by this run
    skipped = [r for r in records if r.status == DONE and r.wall_s is None]
    done = [r for r in now if r.status == DONE]
    analysed = [r for r in done if not r.cached]
    from_cache = [r for r in done if r.cached and not r.duplicate_of]
    duplicates = [r for r in done if r.duplicate_of]
    failed = [r for r in records if r.status == FAILED]
    failed_before = [r for r in failed if r.wall_s is None and r.size is not None]
    frames = sum(r.frames or 0 for r in done)
    seconds = sum(r.seconds or 0 for r in done)
    per_minute = 60.0 * len(done) / wall_s if wall_s > 0 else 0.0
    rows = [
        ("analysed", len(analysed), f"{frames} frames, {seconds} s of video"),
        ("from the cache", len(from_cache), "same content and settings analysed before"),
        ("duplicates", len(duplicates), "same content as another video of this batch"),
        ("already done", len(skipped), "skipped: unchanged since the last run"),
        ("failed", len(failed) - len(failed_before), "see below and the manifest"),
        ("failed before", len(failed_before), "unchanged since: not retried (--retry-failed)"),
        ("ignored", sum(r.status == IGNORED for r in records), "not videos, or named twice"),
        ("interrupted", sum(r.status == INTERRUPTED for r in records), "run again to finish"),
    ]
    lines = [f"{'videos':<16}{'count':>7}  note", "-" * 60]
    lines += [f"{name:<16}{count:>7}  {note}" for name, count, note in rows if count]
    lines.append("-" * 60)
    lines.append(f"{'wall time':<16}{wall_s:>7.1f}s {per_minute:.1f} videos/min, "
                 f"{frames / wall_s if wall_s > 0 else 0.0:.0f} frames/s decoded")
    if analyze_s:
        lines.append(f"{'analysis tasks':<16}{analyze_s:>7.1f}s summed over workers"
                     + (f"; CLIP on {clip}" if clip else "; CLIP fallback (no weights)"))
    if compose_s:
        lines.append(f"{'compose tasks':<16}{compose_s:>7.1f}s summed over workers")
    for record in failed[:_MAX_ERRORS_LISTED]:
        lines.append(f"failed: {record.path}: {record.error}")
    if len(failed) > _MAX_ERRORS_LISTED:
        lines.append(f"... and {len(failed) - _MAX_ERRORS_LISTED} more failures")
    if manifest_path:
        lines.append(f"manifest: {manifest_path}")
    return lines
