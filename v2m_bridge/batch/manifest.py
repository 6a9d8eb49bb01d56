"""The batch manifest: one JSON record per input, what was done, what failed and why.

It lives beside the outputs (or in the feature cache for ``batch analyze``), is rewritten
atomically as the batch advances, and is what makes a rerun cheap: an input whose record is
``done``, whose file has the same size and modification time, and whose output still exists is
skipped without any work; so is one that failed and has not changed since (unless the
batch is told to retry failures). A record made under other settings (``fingerprint``) does
not count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from v2m_bridge.output.paths import atomic_output

MANIFEST_VERSION = 1
DONE, FAILED, IGNORED, INTERRUPTED = "done", "failed", "ignored", "interrupted"


@dataclass
class VideoRecord:
    path: str
    status: str  # done | failed | ignored | interrupted
    error: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    digest: str | None = None  # SHA-256 of the file
    key: str | None = None  # feature cache key
    seconds: int | None = None  # rows of features
    frames: int | None = None  # frames decoded (0 when the features came from the cache)
    cached: bool = False  # features came from the cache (or from a duplicate in this batch)
    duplicate_of: str | None = None
    output: str | None = None  # the file written for this video (render)
    seed: int | None = None
    wall_s: float | None = None  # from submission to done, seconds

    @classmethod
    def from_dict(cls, data: dict) -> VideoRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class Manifest:
    """Records by input path, plus the job and settings they were made with."""

    def __init__(self, path: Path, job: str, fingerprint: dict) -> None:
        self.path = path
        self.job = job
        self.fingerprint = json.loads(json.dumps(fingerprint, default=str))
        self.records: dict[str, VideoRecord] = {}
        self.previous: dict[str, VideoRecord] = {}  # records of an earlier run, same settings
        self.extra: dict = {}  # job-specific notes (the export's list of exported videos)
        self.previous_extra: dict = {}

    @classmethod
    def open(cls, path: Path, job: str, fingerprint: dict) -> Manifest:
        """A manifest for this run, remembering the previous run's records when they count."""
        manifest = cls(path, job, fingerprint)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return manifest
        if (isinstance(data, dict) and data.get("version") == MANIFEST_VERSION
                and data.get("job") == job and data.get("fingerprint") == manifest.fingerprint):
            extra = data.get("extra")
            manifest.previous_extra = extra if isinstance(extra, dict) else {}
            for raw in data.get("videos", []):
                try:
                    record = VideoRecord.from_dict(raw)
                except TypeError:
                    continue
                manifest.previous[record.path] = record
        return manifest

    def already_done(self, video: Path,
                     output_exists: Callable[[VideoRecord], bool]) -> VideoRecord | None:
        """The earlier ``done`` record of ``video`` if the file is unchanged and its output is
        still there; else None (the video is processed again)."""
        record = self.previous.get(str(video))
        if record is None or record.status != DONE:
            return None
        if file_stamp(video) != (record.size, record.mtime_ns):
            return None
        return record if output_exists(record) else None

    def already_failed(self, video: Path) -> VideoRecord | None:
        """The earlier ``failed`` record of ``video`` if the file has not changed since."""
        record = self.previous.get(str(video))
        if record is None or record.status != FAILED or record.size is None:
            return None
        return record if file_stamp(video) == (record.size, record.mtime_ns) else None

    def set(self, record: VideoRecord) -> None:
        self.records[record.path] = record

    def to_json(self) -> dict:
        counts: dict[str, int] = {}
        for record in self.records.values():
            counts[record.status] = counts.get(record.status, 0) + 1
        return {"version": MANIFEST_VERSION, "job": self.job, "fingerprint": self.fingerprint,
                "counts": counts, "extra": self.extra,
                "videos": [asdict(r) for r in self.records.values()]}

    def save(self) -> None:
        """Write atomically: a reader (or an interrupted run) sees the old or the new file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), indent=1) + "\n"
        with atomic_output(self.path) as temporary:
            temporary.write_text(text)
