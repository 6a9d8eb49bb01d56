"""The driver of a batch: submit the work to Ray, take the results in, write them.

Ray schedules everything; this loop only waits on results (``ray.wait``) and moves each video
to its next stage:

    digest ─▶ cached? ── yes ─────────────────────────┐
                │ no (first of its content)             ▼
                └─▶ analyze (decode tasks + CLIP actors) ─▶ cache ─▶ [compose ─▶ MIDI] ─▶ done

Videos with the same content wait for the first one and reuse its features (no second analysis).
Every file is written here, on the driver, atomically: killed workers, failed videos and Ctrl-C
(``stop``) never leave partial files, and a result is written once.
"""

from __future__ import annotations

import logging
import math
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import ray
from ray.exceptions import RayError, RayTaskError
from tqdm import tqdm

from v2m_bridge.batch import tasks
from v2m_bridge.batch.inputs import InputProblem
from v2m_bridge.batch.manifest import (
    DONE,
    FAILED,
    INTERRUPTED,
    Manifest,
    VideoRecord,
    file_stamp,
)
from v2m_bridge.batch.plan import AnalysisPlan, BatchError
from v2m_bridge.features import VideoFeatures
from v2m_bridge.options import RenderOptions
from v2m_bridge.output.cue_sheet import write_cue_sheet
from v2m_bridge.output.midi_file import write_midi
from v2m_bridge.output.paths import OutputPathError, check_output_path

logger = logging.getLogger(__name__)

_WAIT_S = 0.2  # how often the loop looks at the stop flag
_MANIFEST_EVERY_S = 2.0


@dataclass(frozen=True)
class RenderJob:
    """``batch render``: a MIDI file per video in ``out_dir``, as ``render VIDEO -o`` writes it."""

    options: RenderOptions
    out_dir: Path
    hits: bool = False  # also a cue sheet per video (render --hits)

    def output_for(self, video: Path) -> Path:
        return self.out_dir / f"{video.stem}.mid"

    def hits_for(self, video: Path) -> Path:
        return self.out_dir / f"{video.stem}.csv"


@dataclass
class BatchReport:
    records: list[VideoRecord]
    manifest_path: Path
    wall_s: float
    interrupted: bool = False
    analyze_s: float = 0.0  # seconds in analysis tasks, summed over workers
    compose_s: float = 0.0  # seconds in compose tasks, summed over workers
    clip_actors: int = 0
    clip_device: str = ""
    cluster: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return sum(r.frames or 0 for r in self.records)

    @property
    def processed(self) -> list[VideoRecord]:
        """Records of videos this run finished (not skipped as already done)."""
        return [r for r in self.records if r.status == DONE and r.wall_s is not None]


def run_batch(
    videos: Sequence[Path],
    plan: AnalysisPlan,
    manifest: Manifest,
    *,
    problems: Sequence[InputProblem] = (),
    render: RenderJob | None = None,
    clip_actors: int | None = None,
    stop: threading.Event | None = None,
    show_progress: bool = True,
    on_record: Callable[[VideoRecord], None] | None = None,
    before_work: Callable[[], None] | None = None,
    retry_failed: bool = False,
) -> BatchReport:
    """Analyse (and, with ``render``, compose and write) ``videos`` on the connected cluster.

    Results go to the feature cache of ``plan`` (and ``render.out_dir``); every input gets a
    record in ``manifest``, which is saved as the batch advances and at the end. ``stop`` ends
    the batch early: work in flight is cancelled and its videos are recorded as interrupted.
    ``before_work`` is called once there is work to do (the CLI connects to Ray then, so a
    rerun with nothing left to do starts no cluster).
    """
    return _Batch(videos, plan, manifest, problems, render, clip_actors, stop, show_progress,
                  on_record, before_work, retry_failed).run()


class _Batch:
    def __init__(self, videos, plan, manifest, problems, render, clip_actors, stop,
                 show_progress, on_record, before_work, retry_failed) -> None:
        self.videos = list(videos)
        self.plan = plan
        self.manifest = manifest
        self.problems = list(problems)
        self.render = render
        self.clip_actor_count = clip_actors
        self.stop = stop or threading.Event()
        self.show_progress = show_progress
        self.on_record = on_record
        self.before_work = before_work
        self.retry_failed = retry_failed
        self.cache = plan.cache()
        self.settings = plan.settings()
        self.inflight: dict[ray.ObjectRef, tuple[str, object]] = {}
        self.waiting: dict[str, list[int]] = {}  # cache key → videos waiting for its analysis
        self.records: dict[int, VideoRecord] = {}
        self.started: dict[int, float] = {}
        self.report = BatchReport([], manifest.path, 0.0)
        self.clip: tasks.ClipPool | None = None
        self.bar: tqdm | None = None
        self.frames_done = 0
        self.t0 = time.perf_counter()
        self.last_save = 0.0

    # --- setup -----------------------------------------------------------------------------

    def run(self) -> BatchReport:
        for problem in self.problems:
            self.manifest.set(VideoRecord(problem.path, problem.status, problem.error))
        todo = self._plan_videos()
        self.bar = tqdm(total=len(todo), unit="video", file=sys.stderr, dynamic_ncols=True,
                        disable=not self.show_progress or None, leave=True,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
                                   "{postfix}")
        try:
            if todo:
                if self.before_work is not None:
                    self.before_work()
                if self.plan.uses_clip:
                    self._start_clip_pool()
                for index in todo:
                    self.started[index] = time.perf_counter()
                    self._submit("digest", index, tasks.digest_task.remote(str(self.videos[index])))
            self._loop()
        finally:
            if self.inflight:  # stopped (or an error in this loop): cancel what is left
                self._cancel_inflight()
            self._kill_clip_pool()
            self.bar.close()
            self.manifest.save()
        self.report.records = list(self.manifest.records.values())
        self.report.wall_s = time.perf_counter() - self.t0
        counts: dict[str, int] = {}
        for record in self.report.records:
            counts[record.status] = counts.get(record.status, 0) + 1
        self.report.counts = counts
        return self.report

    def _plan_videos(self) -> list[int]:
        """Indices of the videos to process; done ones are recorded as they were.

        The outputs of videos skipped as done are taken first, so a video added since (clip.mkv
        beside a rendered clip.mp4) cannot be rendered onto a finished video's file. Their
        feature cache entries are pinned for the batch (see :meth:`_pin`)."""
        todo, skipped = [], []
        outputs: dict[Path, str] = {}
        for index, video in enumerate(self.videos):
            previous = self.manifest.already_done(video, self._output_exists)
            if previous is None and not self.retry_failed:
                previous = self.manifest.already_failed(video)
            if previous is None:
                todo.append(index)
                continue
            self.manifest.set(replace(previous, wall_s=None))
            skipped.append(index)
            self._pin(previous.key)
            if self.render is not None and previous.status == DONE and previous.output:
                outputs[Path(previous.output).resolve()] = f"{video} (done in an earlier run)"
        planned = []
        for index in todo:
            video = self.videos[index]
            if self.render is not None:
                output = self.render.output_for(video)
                taken = outputs.get(output.resolve())
                try:
                    if taken is not None:
                        raise OutputPathError(
                            f"its output {output.name} is also the output of {taken}; rename "
                            "one of the videos")
                    check_output_path(output, (video,), what="MIDI output")
                except OutputPathError as err:
                    self._fail(index, str(err))
                    continue
                outputs[output.resolve()] = str(video)
            planned.append(index)
        return planned

    def _pin(self, key: str | None) -> None:
        """Keep this batch's own cache entry until the batch ends, even past the cache's size
        limit: a batch larger than the cache must not evict what it made (export reads it)."""
        if key:
            self.cache.pin(key)

    def _output_exists(self, record: VideoRecord) -> bool:
        if self.render is not None:
            return record.output is not None and Path(record.output).is_file()
        return record.key is not None and self.cache.get(record.key) is not None

    def _start_clip_pool(self) -> None:
        gpus = ray.cluster_resources().get("GPU", 0.0)
        wants_gpu = (self.plan.device or "").startswith("cuda")
        if wants_gpu and gpus < 1:
            raise BatchError(f"--device {self.plan.device} asks for CLIP on a GPU, but the Ray "
                             "cluster has none; leave out --device or use --device cpu")
        on_gpu = wants_gpu or (gpus >= 1 and self.plan.device in (None, "", "auto"))
        count = self.clip_actor_count or (int(gpus) if on_gpu else 1)
        try:
            self.clip = tasks.start_clip_pool(self.plan.make_encoder_factory(), count,
                                              gpus_each=1.0 if on_gpu else 0.0,
                                              cpus_each=0.0 if on_gpu else 1.0)
        except RayError as err:
            raise BatchError(f"the CLIP actors could not start: {_error_text(err)}") from None
        self.report.clip_actors = count
        self.report.clip_device = "GPU" if on_gpu else "CPU"

    def _kill_clip_pool(self) -> None:
        if self.clip is not None:
            for actor in self.clip.actors:
                ray.kill(actor)
            self.clip = None

    # --- the loop --------------------------------------------------------------------------

    def _submit(self, stage: str, payload: object, ref: ray.ObjectRef) -> None:
        self.inflight[ref] = (stage, payload)

    def _loop(self) -> None:
        while self.inflight:
            if self.stop.is_set():
                self._cancel_inflight()
                break
            ready, _ = ray.wait(list(self.inflight), num_returns=1, timeout=_WAIT_S)
            for ref in ready:
                stage, payload = self.inflight.pop(ref)
                try:
                    result = ray.get(ref)
                except RayError as err:
                    self._stage_failed(stage, payload, _error_text(err))
                    continue
                getattr(self, f"_{stage}_done")(payload, result)
            if time.perf_counter() - self.last_save > _MANIFEST_EVERY_S:
                self.manifest.save()
                self.last_save = time.perf_counter()

    def _digest_done(self, index: int, digest: str) -> None:
        key = self.plan.key(digest)
        self.records[index] = VideoRecord(str(self.videos[index]), "running", digest=digest,
                                          key=key)
        if key in self.waiting:  # same content as a video being analysed: wait for it
            self.waiting[key].append(index)
            return
        self._pin(key)
        cached = self.cache.get(key)
        if cached is not None:
            self._features_ready(index, replace(cached, source=str(self.videos[index])),
                                 cached=True)
            return
        self.waiting[key] = [index]
        first_actor = index  # spread the videos' first batches over the CLIP actors
        self._submit("analyze", key, tasks.analyze_task.remote(
            str(self.videos[index]), self.plan.detector, self.settings, self.clip, first_actor))

    def _analyze_done(self, key: str, result: tuple[VideoFeatures, float]) -> None:
        features, seconds = result
        self.report.analyze_s += seconds
        # Whichever copy was hashed first was analysed; the first in input order is recorded
        # as the analysed one, as the one-video commands run in that order.
        first, *duplicates = sorted(self.waiting.pop(key))
        features = replace(features, source=str(self.videos[first]))
        self.cache.put(key, features)
        self._features_ready(first, features, cached=False)
        for index in duplicates:
            self.records[index].duplicate_of = str(self.videos[first])
            self._features_ready(index, replace(features, source=str(self.videos[index])),
                                 cached=True)

    def _features_ready(self, index: int, features: VideoFeatures, *, cached: bool) -> None:
        record = self.records[index]
        record.seconds = features.n_seconds
        record.cached = cached
        record.frames = 0 if cached else round(features.fps * features.duration)
        if not cached:
            self.frames_done += record.frames
        if self.render is None:
            self._done(index)
            return
        options = self.render.options
        if options.seed is None:  # as `render` does without --seed: a random seed, recorded
            options = replace(options, seed=random.SystemRandom().randrange(2**31))
        record.seed = options.seed
        self._submit("compose", index, tasks.compose_task.remote(features, options))

    def _compose_done(self, index: int, result) -> None:
        composition, seconds = result
        self.report.compose_s += seconds
        video = self.videos[index]
        try:
            written = write_midi(composition, self.render.output_for(video), inputs=(video,))
        except (OSError, OutputPathError) as err:
            self._fail(index, f"writing the MIDI file failed: {err}")
            return
        if self.render.hits:
            try:
                write_cue_sheet(composition, self.render.hits_for(video), inputs=(video,))
            except (OSError, OutputPathError) as err:
                self._fail(index, f"writing the cue sheet failed: {err}")
                return
        self.records[index].output = str(written)
        self._done(index)

    def _stage_failed(self, stage: str, payload: object, error: str) -> None:
        if stage == "analyze":
            first, *duplicates = sorted(self.waiting.pop(payload))
            self._fail(first, error)
            for index in duplicates:
                self._fail(index, f"same content as {self.videos[first]}, which failed: {error}")
        else:
            self._fail(payload, error)

    # --- records ---------------------------------------------------------------------------

    def _done(self, index: int) -> None:
        record = self.records[index]
        stamp = file_stamp(self.videos[index])
        record.size, record.mtime_ns = stamp if stamp else (None, None)
        record.status = DONE
        self._finish(index, record)

    def _fail(self, index: int, error: str) -> None:
        record = self.records.get(index) or VideoRecord(str(self.videos[index]), FAILED)
        record.status, record.error = FAILED, error
        stamp = file_stamp(self.videos[index])
        record.size, record.mtime_ns = stamp if stamp else (None, None)
        self.records[index] = record
        logger.debug("%s failed: %s", self.videos[index], error)
        self._finish(index, record)

    def _finish(self, index: int, record: VideoRecord) -> None:
        if index in self.started:
            record.wall_s = round(time.perf_counter() - self.started[index], 3)
            if self.bar is not None:
                self.bar.update(1)
                self._postfix()
        self.manifest.set(record)
        if self.on_record is not None:
            self.on_record(record)

    def _postfix(self) -> None:
        records = self.manifest.records.values()
        done = sum(r.status == DONE and r.wall_s is not None for r in records)
        failed = sum(r.status == FAILED and r.wall_s is not None for r in records)
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        self.bar.set_postfix_str(f"done {done}, failed {failed}, "
                                 f"{self.frames_done / elapsed:.0f} frames/s", refresh=False)

    def _cancel_inflight(self) -> None:
        for ref, (stage, payload) in list(self.inflight.items()):
            try:
                ray.cancel(ref, force=True)
            except (RayError, TypeError, ValueError) as err:
                logger.debug("could not cancel a %s task: %s", stage, err)
            indices = self.waiting.pop(payload, []) if stage == "analyze" else [payload]
            for index in indices:
                record = self.records.get(index) or VideoRecord(str(self.videos[index]), "")
                record.status, record.error = INTERRUPTED, "the batch was stopped first"
                self.manifest.set(record)
        self.inflight.clear()
        self.report.interrupted = True


def _error_text(err: RayError) -> str:
    """The per-video message: the worker's own error when it raised one, else Ray's."""
    if isinstance(err, RayTaskError):
        cause = err.cause if getattr(err, "cause", None) is not None else None
        if cause is not None:
            return f"{type(cause).__name__}: {cause}"
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def videos_per_minute(report: BatchReport) -> float:
    count = len(report.processed)
    return math.nan if report.wall_s <= 0 else 60.0 * count / report.wall_s
