"""``batch`` on a local 2-CPU Ray cluster (one for all these tests): results identical to the
one-video commands, failures recorded, killed workers, Ctrl-C and reruns."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip(
    "ray", reason='the batch tests need the cluster extra: pip install -e ".[cluster]"')
if shutil.which("ffmpeg") is None:
    pytest.skip("ffmpeg is needed to cut the test clips", allow_module_level=True)

# These need ray, so they come after the skip above.
from batch_helpers import (  # noqa: E402
    CORRUPT,
    DUPLICATE,
    NOT_A_VIDEO,
    BrokenClip,
    TinyClip,
    cut_clip,
    make_clip_folder,
)

from v2m_bridge.batch.inputs import discover  # noqa: E402
from v2m_bridge.batch.manifest import DONE, FAILED, IGNORED, INTERRUPTED, Manifest  # noqa: E402
from v2m_bridge.batch.plan import AnalysisPlan, BatchError  # noqa: E402
from v2m_bridge.batch.runner import run_batch  # noqa: E402
from v2m_bridge.cli import main  # noqa: E402
from v2m_bridge.features import VideoFeatures  # noqa: E402
from v2m_bridge.video import analyze as analyze_module  # noqa: E402
from v2m_bridge.video.analyze import analyze_video  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def ray_cluster():
    """One local cluster for every batch test (starting one costs seconds)."""
    path = os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(videos, tmp_path_factory) -> Path:
    return make_clip_folder(videos, tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def serial_cache(clips, tmp_path_factory) -> Path:
    """The feature cache the one-video ``analyze_video`` fills for every good clip."""
    cache = tmp_path_factory.mktemp("serial_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analyze_module, "find_clip_weights", lambda explicit=None: None)
        patch.setenv("V2M_CACHE_DIR", str(cache))
        for video in good_clips(clips):
            analyze_video(video)
    return cache


def good_clips(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir()) if p.suffix == ".mp4" and p.name != CORRUPT]


def npz_contents(folder: Path) -> dict[str, dict[str, bytes]]:
    """Each cache entry's arrays and metadata, as stored (zip members), by file name."""
    out = {}
    for entry in sorted(folder.glob("*.npz")):
        with zipfile.ZipFile(entry) as archive:
            out[entry.name] = {name: archive.read(name) for name in archive.namelist()}
    return out


def assert_same_features_within_float_noise(batched: Path, serial: Path) -> None:
    """The CLIP actors' cache entries equal the in-process encoder's: everything but the CLIP
    outputs to the byte, the CLIP outputs within float noise. Batched float kernels may differ
    in the last bits between torch releases and thread counts, so bytes are too strict there;
    the tolerance is checked to be tight enough that frames one second out of place fail."""
    assert sorted(p.name for p in batched.glob("*.npz")) == sorted(
        p.name for p in serial.glob("*.npz"))
    for entry in sorted(serial.glob("*.npz")):
        want, got = VideoFeatures.load(entry), VideoFeatures.load(batched / entry.name)
        assert (got.scene_offset.tobytes(), got.motion.tobytes(), got.fps, got.duration,
                got.cut_times, got.provenance) == (
            want.scene_offset.tobytes(), want.motion.tobytes(), want.fps, want.duration,
            want.cut_times, want.provenance)
        for name in ("semantic", "emotion"):
            a, b = getattr(got, name), getattr(want, name)
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"{entry.name} {name}")
            if name == "semantic" and len(b) > 1:  # the tolerance still sees a wrong frame order
                assert not np.allclose(np.roll(a, 1, axis=0), b, rtol=1e-4, atol=1e-5)


def features_except_source(folder: Path) -> dict[str, tuple]:
    """Each cache entry's arrays (as bytes) and metadata, leaving out the source path."""
    out = {}
    for entry in sorted(folder.glob("*.npz")):
        f = VideoFeatures.load(entry)
        out[entry.name] = (f.semantic.tobytes(), f.emotion.tobytes(), f.scene_offset.tobytes(),
                           f.motion.tobytes(), f.fps, f.duration, f.cut_times, f.provenance,
                           f.settings)
    return out


def partial_files(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*")
            if ".tmp" in p.name or p.name.startswith(".v2m-export-")]


def batch_analyze(clips: Path, cache: Path, manifest: Path, **kwargs):
    found = discover([clips])
    plan = AnalysisPlan(cache_dir=cache)
    return run_batch(found.videos, plan, Manifest.open(manifest, "analyze", plan.settings()),
                     problems=found.problems, show_progress=False, **kwargs)


def by_name(report) -> dict[str, object]:
    return {Path(r.path).name: r for r in report.records}


def test_analyze_equals_serial_records_the_corrupt_one_and_a_rerun_does_no_work(
        ray_cluster, clips, serial_cache, tmp_path):
    cache, manifest = tmp_path / "cache", tmp_path / "manifest.json"
    report = batch_analyze(clips, cache, manifest)
    records = by_name(report)
    assert records[CORRUPT].status == FAILED
    assert "cannot be opened as a video" in records[CORRUPT].error
    assert records[NOT_A_VIDEO].status == IGNORED
    assert records[DUPLICATE].status == DONE and records[DUPLICATE].cached
    assert records[DUPLICATE].duplicate_of == str(clips / "clip01.mp4")
    assert records[DUPLICATE].frames == 0  # free: the first one's features were reused
    done = [r for r in report.records if r.status == DONE]
    assert len(done) == 12 and sum(not r.cached for r in done) == 11
    # The same cache entries (names = content + settings keys) with the same arrays.
    assert npz_contents(cache) == npz_contents(serial_cache)
    assert not partial_files(cache)

    # (not mtimes: the cache marks an entry as recently used by touching it, see FeatureCache)
    stamps = {p.name: (p.stat().st_ino, p.read_bytes()) for p in cache.iterdir() if p.is_file()}
    again = batch_analyze(clips, cache, manifest)
    assert not again.processed  # nothing analysed, hashed or written
    assert {r.path: r.status for r in again.records} == {r.path: r.status
                                                          for r in report.records}
    assert {p.name: (p.stat().st_ino, p.read_bytes())
            for p in cache.iterdir() if p.is_file()} == stamps  # no entry rewritten or replaced


def test_a_killed_worker_is_retried_and_nothing_is_lost_or_written_twice(
        ray_cluster, clips, serial_cache, tmp_path, videos):
    long_clip = cut_clip(videos / "montage_cc0_4shots.mp4", 0, 22, tmp_path / "long.mp4")
    folder = tmp_path / "clips"
    shutil.copytree(clips, folder)
    shutil.move(long_clip, folder / "long.mp4")
    killed: list[int] = []
    done = threading.Event()

    def kill_one_analysis_worker() -> None:
        while not done.is_set() and not killed:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if title.startswith(b"ray::analyze_task"):
                    time.sleep(0.05)  # let it get into the decoding
                    os.kill(int(pid), signal.SIGKILL)
                    killed.append(int(pid))
                    return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_one_analysis_worker, daemon=True)
    killer.start()
    cache = tmp_path / "cache"
    written = []
    report = batch_analyze(folder, cache, tmp_path / "manifest.json",
                           on_record=lambda r: written.append(r.path))
    done.set()
    killer.join(timeout=5)
    assert killed, "no analysis worker was seen to kill"
    statuses = {Path(r.path).name: r.status for r in report.records}
    assert statuses[CORRUPT] == FAILED
    assert sorted(n for n, s in statuses.items() if s == DONE) == sorted(
        p.name for p in good_clips(folder))
    assert len(written) == len(set(written))  # each video finished once
    serial = features_except_source(serial_cache)  # (the clips were copied: other paths)
    batch = features_except_source(cache)
    assert len(batch) == len(serial) + 1  # + long.mp4
    assert all(batch[name] == serial[name] for name in serial)
    assert not partial_files(cache)


def test_render_writes_the_midi_files_of_render(ray_cluster, clips, tmp_path, monkeypatch):
    monkeypatch.setattr(analyze_module, "find_clip_weights", lambda explicit=None: None)
    monkeypatch.setattr("v2m_bridge.batch.plan.find_clip_weights", lambda explicit=None: None)
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    picked = tmp_path / "list.txt"
    chosen = ["clip02.mp4", "clip05.mp4", "clip08.mp4", "missing.mp4"]
    picked.write_text("".join(f"{clips / name}\n" for name in chosen))
    out = tmp_path / "out"
    assert main(["batch", "render", str(picked), str(out), "--seed", "7", "--key", "D minor",
                 "--no-progress"]) == 1  # one missing file: recorded, the rest rendered
    serial = tmp_path / "serial"
    serial.mkdir()
    for name in chosen[:3]:
        assert main(["render", str(clips / name), "-o", str(serial / name.replace(".mp4", ".mid")),
                     "--seed", "7", "--key", "D minor"]) == 0
        midi = name.replace(".mp4", ".mid")
        assert (out / midi).read_bytes() == (serial / midi).read_bytes()
    manifest = Manifest.open(out / "v2m_batch_manifest.json", "render", {})
    assert sorted(p.name for p in out.iterdir()) == ["clip02.mid", "clip05.mid", "clip08.mid",
                                                      "v2m_batch_manifest.json"]
    records = {Path(r["path"]).name: r for r in
               __import__("json").loads(manifest.path.read_text())["videos"]}
    assert records["missing.mp4"]["status"] == FAILED
    assert "not found" in records["missing.mp4"]["error"]


def test_export_equals_serial_export_and_a_rerun_writes_nothing(ray_cluster, clips, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setattr(analyze_module, "find_clip_weights", lambda explicit=None: None)
    monkeypatch.setattr("v2m_bridge.batch.plan.find_clip_weights", lambda explicit=None: None)
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("clip03.mp4", "clip06.mp4", "clip10.mp4", CORRUPT, NOT_A_VIDEO):
        shutil.copyfile(clips / name, folder / name)
    out = tmp_path / "batch"
    assert main(["batch", "export-dataset", str(folder), str(out), "--allow-fallback",
                 "--no-progress"]) == 1  # the corrupt one failed, the rest exported
    (folder / CORRUPT).unlink()  # the serial command stops at a corrupt video
    (folder / NOT_A_VIDEO).unlink()
    serial = tmp_path / "serial"
    assert main(["export-dataset", str(folder), str(serial), "--allow-fallback"]) == 0

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.name != "v2m_batch_manifest.json"}

    assert files(out) == files(serial)
    assert (out / "vevo_meta" / "v2m_batch_manifest.json").is_file()
    assert not partial_files(out)
    # Rerun (with the corrupt video fixed by its removal): nothing analysed, nothing rewritten
    # but the manifest.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert main(["batch", "export-dataset", str(folder), str(out), "--allow-fallback",
                 "--no-progress"]) == 0
    changed = [p.name for p in out.rglob("*") if p.is_file()
               and p.stat().st_mtime_ns != stamps.get(p)]
    assert changed == ["v2m_batch_manifest.json"]


def test_clip_actors_give_the_numbers_of_the_in_process_encoder(ray_cluster, clips, tmp_path,
                                                                monkeypatch, videos):
    folder = tmp_path / "videos"
    folder.mkdir()
    cut_clip(videos / "montage_cc0_4shots.mp4", 0, 11, folder / "long.mp4")  # 11 s: 3 batches
    shutil.copyfile(clips / "clip05.mp4", folder / "short.mp4")
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"stand-in")
    serial_cache = tmp_path / "serial"
    monkeypatch.setenv("V2M_CACHE_DIR", str(serial_cache))
    monkeypatch.setattr(analyze_module, "build_clip_encoder", lambda w, device: TinyClip()())
    for video in sorted(folder.iterdir()):
        assert analyze_video(video, clip_weights=weights).provenance == "clip"
    plan = AnalysisPlan(cache_dir=tmp_path / "batch", clip_weights=weights,
                        encoder_factory=TinyClip())
    found = discover([folder])
    report = run_batch(found.videos, plan, Manifest(tmp_path / "m.json", "analyze", {}),
                       clip_actors=1, show_progress=False)
    assert report.clip_actors == 1 and report.clip_device == "CPU"
    assert [r.status for r in report.records] == [DONE, DONE]
    assert_same_features_within_float_noise(tmp_path / "batch", serial_cache)


def test_clip_weights_that_do_not_load_stop_the_batch_with_the_reason(ray_cluster, clips,
                                                                      tmp_path):
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"stand-in")
    plan = AnalysisPlan(cache_dir=tmp_path / "cache", clip_weights=weights,
                        encoder_factory=BrokenClip())
    manifest = Manifest(tmp_path / "m.json", "analyze", {})
    with pytest.raises(BatchError, match=r"could not start.*do not load"):
        run_batch([clips / "clip01.mp4"], plan, manifest, show_progress=False)
    assert manifest.path.is_file() and not partial_files(tmp_path / "cache")


def test_stop_cancels_the_rest_leaves_no_partial_files_and_a_rerun_finishes(
        ray_cluster, clips, serial_cache, tmp_path):
    stop = threading.Event()
    cache, manifest = tmp_path / "cache", tmp_path / "manifest.json"
    first = batch_analyze(clips, cache, manifest, stop=stop,
                          on_record=lambda r: r.status == DONE and stop.set())
    assert first.interrupted
    statuses = [r.status for r in first.records]
    assert statuses.count(DONE) >= 1 and statuses.count(INTERRUPTED) >= 1
    assert not partial_files(cache)
    finished_first = {r.path for r in first.records if r.status == DONE}
    second = batch_analyze(clips, cache, manifest)
    assert not second.interrupted
    assert {r.path for r in second.processed}.isdisjoint(finished_first)
    assert npz_contents(cache) == npz_contents(serial_cache)


def test_ctrl_c_on_the_command_stops_it_cleanly(ray_cluster, clips, tmp_path):
    """A real SIGINT to the command (joined to the test cluster) while it works."""
    out = tmp_path / "out"
    env = {**os.environ, "V2M_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "v2m_bridge", "batch", "render", str(clips), str(out),
               "--seed", "1", "--no-progress", "--address", ray_cluster]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("*.mid")) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode in (130, 1), stderr  # 1: it had finished before the signal
    assert not partial_files(out, tmp_path / "cache")
    assert "interrupted" in stdout + stderr or process.returncode == 1


def test_an_unreachable_address_fails_in_seconds(clips, tmp_path):
    env = {**os.environ, "V2M_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    for address in ("127.0.0.1:9", "ray://127.0.0.1:9"):
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "v2m_bridge", "batch", "analyze",
                                 str(clips), "--address", address], env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 1
        assert "cannot reach a Ray cluster" in result.stderr
        assert time.monotonic() - started < 60


# --- issue 25: reruns, a cache smaller than the batch, the render options --------------------

def _no_clip_weights(monkeypatch, cache: Path) -> None:
    monkeypatch.setattr(analyze_module, "find_clip_weights", lambda explicit=None: None)
    monkeypatch.setattr("v2m_bridge.batch.plan.find_clip_weights", lambda explicit=None: None)
    monkeypatch.setenv("V2M_CACHE_DIR", str(cache))


def test_a_rerun_never_renders_a_new_video_onto_a_finished_one(ray_cluster, clips, tmp_path,
                                                               monkeypatch):
    """Issue 25 item 8: clip.mp4 rendered to clip.mid; clip.mkv added; the rerun refuses it."""
    _no_clip_weights(monkeypatch, tmp_path / "cache")
    folder, out = tmp_path / "videos", tmp_path / "out"
    folder.mkdir()
    shutil.copyfile(clips / "clip02.mp4", folder / "clip.mp4")
    assert main(["batch", "render", str(folder), str(out), "--seed", "3", "--no-progress"]) == 0
    finished = (out / "clip.mid").read_bytes()
    shutil.copyfile(clips / "clip05.mp4", folder / "clip.mkv")  # sorts before clip.mp4
    assert main(["batch", "render", str(folder), str(out), "--seed", "3", "--no-progress"]) == 1
    assert (out / "clip.mid").read_bytes() == finished
    records = by_name_json(out / "v2m_batch_manifest.json")
    assert records["clip.mp4"]["status"] == DONE
    assert records["clip.mp4"]["output"] == str(out / "clip.mid")
    assert records["clip.mkv"]["status"] == FAILED
    assert "also the output of" in records["clip.mkv"]["error"]
    assert "done in an earlier run" in records["clip.mkv"]["error"]


def by_name_json(path: Path) -> dict[str, dict]:
    import json

    return {Path(r["path"]).name: r for r in json.loads(path.read_text())["videos"]}


def test_a_batch_larger_than_the_cache_keeps_its_own_entries(ray_cluster, clips, tmp_path,
                                                             monkeypatch):
    """Issue 25 item 9: with a cache limit below one entry, export-dataset used to fail with
    "vanished"; the batch pins its entries, and a rerun works too."""
    _no_clip_weights(monkeypatch, tmp_path / "cache")
    monkeypatch.setenv("V2M_CACHE_MAX_MB", "0.001")  # 1 kB: each entry alone is bigger
    folder, out = tmp_path / "videos", tmp_path / "dataset"
    folder.mkdir()
    for name in ("clip03.mp4", "clip06.mp4", "clip10.mp4"):
        shutil.copyfile(clips / name, folder / name)
    assert main(["batch", "export-dataset", str(folder), str(out), "--allow-fallback",
                 "--no-progress"]) == 0
    assert len((out / "vevo_meta" / "idlist.txt").read_text().splitlines()) == 3
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 3  # over the limit, for the batch
    (out / "vevo_meta" / "idlist.txt").unlink()  # a rerun must export again, from the cache
    assert main(["batch", "export-dataset", str(folder), str(out), "--allow-fallback",
                 "--no-progress"]) == 0
    assert len((out / "vevo_meta" / "idlist.txt").read_text().splitlines()) == 3


def test_batch_render_takes_the_scoring_options_of_render(ray_cluster, clips, tmp_path,
                                                          monkeypatch):
    """Issue 25 item 10: --tempo auto --tempo-map --harmonic-rhythm --hits, as render has them."""
    _no_clip_weights(monkeypatch, tmp_path / "cache")
    folder, out, serial = tmp_path / "videos", tmp_path / "out", tmp_path / "serial"
    folder.mkdir()
    serial.mkdir()
    shutil.copyfile(clips / "clip01.mp4", folder / "montage.mp4")  # it has cuts
    scoring = ["--seed", "11", "--tempo", "auto", "--tempo-map", "--harmonic-rhythm", "half"]
    assert main(["batch", "render", str(folder), str(out), "--hits", "--no-progress",
                 *scoring]) == 0
    assert main(["render", str(folder / "montage.mp4"), "-o", str(serial / "montage.mid"),
                 "--hits", str(serial / "montage.csv"), *scoring]) == 0
    assert (out / "montage.mid").read_bytes() == (serial / "montage.mid").read_bytes()
    assert (out / "montage.csv").read_text() == (serial / "montage.csv").read_text()
