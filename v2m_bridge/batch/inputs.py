"""Which files a batch processes: folders, list files and single videos, with per-input problems.

A folder contributes its video files (by suffix, sorted by name, as ``export-dataset`` does) and
records every other file as ignored. A list file names one video per line (``#`` comments, blank
lines ignored, relative paths taken from the list's folder). Whatever cannot be a video is
recorded with a reason instead of stopping the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from v2m_bridge.data.muvi_sync import VIDEO_SUFFIXES

# A list file bigger than this is not a list someone wrote (or generated) by hand.
_MAX_LIST_BYTES = 64 << 20
_SUFFIXES = ", ".join(sorted(VIDEO_SUFFIXES))


@dataclass(frozen=True)
class InputProblem:
    """An input that is not processed: ``failed`` (an error to fix) or ``ignored`` (by design)."""

    path: str
    status: str  # "failed" | "ignored"
    error: str


@dataclass
class Discovery:
    videos: list[Path] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)


def is_video_name(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def discover(inputs: Iterable[str | Path]) -> Discovery:
    """Videos named by ``inputs`` (folders, list files, videos), in order, each path once."""
    found = Discovery()
    seen: set[Path] = set()

    def add(video: Path) -> None:
        resolved = video.resolve()
        if resolved in seen:
            found.problems.append(InputProblem(str(video), "ignored", "named more than once; "
                                               "processed once"))
            return
        seen.add(resolved)
        found.videos.append(video)

    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            _add_folder(path, add, found)
        elif is_video_name(path):
            # Missing or unreadable videos are checked (and recorded) by the workers.
            add(path)
        elif path.is_file():
            _add_list(path, add, found)
        else:
            found.problems.append(InputProblem(
                str(path), "failed", f"not found: {path}; expected a video file, a folder of "
                "videos or a text file listing videos"))
    return found


def _add_folder(folder: Path, add, found: Discovery) -> None:
    entries = sorted(p for p in folder.iterdir() if p.is_file())
    videos = [p for p in entries if is_video_name(p)]
    for other in entries:
        if not is_video_name(other):
            found.problems.append(InputProblem(
                str(other), "ignored", f"not a video file name (suffix {other.suffix or 'none'}"
                f"; videos end in {_SUFFIXES})"))
    if not videos:
        found.problems.append(InputProblem(
            str(folder), "failed", f"no video files ({_SUFFIXES}) in the folder {folder}"))
    for video in videos:
        add(video)


def _add_list(list_file: Path, add, found: Discovery) -> None:
    try:
        if list_file.stat().st_size > _MAX_LIST_BYTES:
            raise ValueError("too large for a list of videos")
        text = list_file.read_text(encoding="utf-8")
    except (OSError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        found.problems.append(InputProblem(
            str(list_file), "failed", f"{list_file} is neither a video file ({_SUFFIXES}) nor a "
            f"text file listing videos: {err}"))
        return
    named = 0
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        named += 1
        video = Path(entry).expanduser()
        if not video.is_absolute():
            video = list_file.parent / video
        if video.is_dir():
            found.problems.append(InputProblem(
                str(video), "failed", f"{list_file}:{number} names a folder; list video files"))
        elif not video.exists():
            found.problems.append(InputProblem(
                str(video), "failed", f"video file not found: {video} (named in "
                f"{list_file}:{number})"))
        else:
            add(video)
    if not named:
        found.problems.append(InputProblem(str(list_file), "failed",
                                           f"the list {list_file} names no videos"))
