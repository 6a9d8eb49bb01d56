"""The Ray-free parts of ``batch``: discovery, the manifest, fail-fast checks, the CLI's help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from v2m_bridge.batch.inputs import discover
from v2m_bridge.batch.manifest import DONE, Manifest, VideoRecord, file_stamp
from v2m_bridge.cli import main


def test_a_folder_gives_its_videos_sorted_and_records_the_rest(tmp_path):
    for name in ("b.mp4", "a.webm", "notes.txt", "c.MOV"):
        (tmp_path / name).write_bytes(b"x")
    found = discover([tmp_path])
    assert [v.name for v in found.videos] == ["a.webm", "b.mp4", "c.MOV"]
    assert [(p.status, p.path) for p in found.problems] == [("ignored", str(tmp_path /
                                                                             "notes.txt"))]


def test_an_empty_folder_is_a_failed_input_and_the_others_go_on(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "v.mp4").write_bytes(b"x")
    found = discover([tmp_path / "empty", tmp_path / "v.mp4"])
    assert [v.name for v in found.videos] == ["v.mp4"]
    (problem,) = found.problems
    assert problem.status == "failed" and "no video files" in problem.error


def test_a_list_names_videos_relative_to_itself_and_missing_ones_are_failures(tmp_path):
    (tmp_path / "v.mp4").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    listing = tmp_path / "list.txt"
    listing.write_text("# my videos\nv.mp4\n\ngone.mp4\nsub\nv.mp4\n")
    found = discover([listing])
    assert found.videos == [tmp_path / "v.mp4"]
    errors = {p.path: (p.status, p.error) for p in found.problems}
    assert errors[str(tmp_path / "gone.mp4")][0] == "failed"
    assert "not found" in errors[str(tmp_path / "gone.mp4")][1]
    assert "list.txt:4" in errors[str(tmp_path / "gone.mp4")][1]
    assert "names a folder" in errors[str(tmp_path / "sub")][1]
    assert errors[str(tmp_path / "v.mp4")] == ("ignored", "named more than once; processed once")


def test_a_binary_non_video_is_neither_a_video_nor_a_list(tmp_path):
    image = tmp_path / "photo.jpg"
    image.write_bytes(bytes(range(256)))
    found = discover([image, tmp_path / "missing"])
    assert not found.videos
    assert [p.status for p in found.problems] == ["failed", "failed"]
    assert "neither a video file" in found.problems[0].error


def test_manifest_skips_only_unchanged_done_videos_with_their_output(tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    size, mtime = file_stamp(video)
    path = tmp_path / "m.json"
    manifest = Manifest(path, "analyze", {"a": 1})
    manifest.set(VideoRecord(str(video), DONE, size=size, mtime_ns=mtime, key="k"))
    manifest.save()
    again = Manifest.open(path, "analyze", {"a": 1})
    assert again.already_done(video, lambda r: True) is not None
    assert again.already_done(video, lambda r: False) is None  # output gone
    assert Manifest.open(path, "analyze", {"a": 2}).already_done(video, lambda r: True) is None
    video.write_bytes(b"changed")
    assert again.already_done(video, lambda r: True) is None
    assert json.loads(path.read_text())["counts"] == {"done": 1}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp.json")]


def test_batch_is_in_the_help_and_help_loads_neither_ray_nor_torch():
    code = ("import sys; from v2m_bridge.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('ray', 'torch', 'cv2') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"
    with pytest.raises(SystemExit):
        main(["batch", "--help"])


def test_without_ray_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    assert main(["batch", "analyze", str(tmp_path)]) == 1
    assert 'pip install -e ".[cluster]"' in capsys.readouterr().err


def test_an_unwritable_output_fails_before_any_work(tmp_path, monkeypatch, capsys):
    pytest.importorskip("ray", reason="the batch commands need the cluster extra (ray)")
    from v2m_bridge.batch import cluster

    def no_cluster(*args, **kwargs):
        raise AssertionError("the cluster was started before the output was checked")

    monkeypatch.setattr(cluster, "connect", no_cluster)
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    (tmp_path / "v.mp4").write_bytes(b"x")
    assert main(["batch", "render", str(tmp_path / "v.mp4"), str(blocker / "out")]) == 1
    err = capsys.readouterr().err
    assert "output folder" in err and "not writable" in err
