"""Where the daemon writes: only inside its output folder or the opened video's folder, never
through `..`, `~` or a symbolic link, never replacing anything but a regular file it wrote."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from v2m_bridge.output import places as places_module
from v2m_bridge.output.places import (
    OutputPlaceError,
    OutputPlaces,
    check_input_file,
    default_output_dir,
)


@pytest.fixture(params=["dir_fd", "by_path"])
def places(request, tmp_path, monkeypatch):
    """Both ways of reaching the folder: descriptors with O_NOFOLLOW (POSIX) and checked paths
    (where the OS has no dir_fd, e.g. Windows)."""
    monkeypatch.setattr(places_module, "_DIR_FD", request.param == "dir_fd" and
                        places_module._DIR_FD)
    return OutputPlaces(tmp_path / "out")  # created by the first write


def write(places, name, video=None, overwrite=False, data=b"MThd"):
    with places.open(name, video, overwrite=overwrite) as (handle, path):
        handle.write(data)
    return path


def test_relative_names_go_to_the_output_folder_and_can_be_rewritten(places):
    path = write(places, "a.mid")
    assert path == places.output_dir / "a.mid" and path.read_bytes() == b"MThd"
    write(places, "a.mid", data=b"MThd2")  # ours: replaced
    assert path.read_bytes() == b"MThd2"
    assert sorted(p.name for p in places.output_dir.iterdir()) == ["a.mid"]  # no temporaries


def test_the_videos_folder_is_allowed_and_elsewhere_is_not(places, tmp_path):
    videos = tmp_path / "videos"
    (videos / "v2m").mkdir(parents=True)
    video = videos / "clip.mp4"
    video.write_bytes(b"video")
    assert write(places, str(videos / "v2m" / "clip-1.mid"), str(video)).is_file()
    with pytest.raises(OutputPlaceError, match="outside the folders"):
        write(places, str(tmp_path / "elsewhere.mid"), str(video))
    with pytest.raises(OutputPlaceError, match="outside the folders"):
        write(places, str(videos / "x.mid"))  # no video open: only the output folder
    with pytest.raises(OutputPlaceError, match=r"end in \.mid"):
        write(places, str(video), str(video), overwrite=True)
    midi_video = videos / "clip.mid"  # a video that happens to be named .mid: still never
    midi_video.write_bytes(b"video")
    with pytest.raises(OutputPlaceError, match="is the opened video"):
        write(places, str(midi_video), str(midi_video), overwrite=True)
    assert midi_video.read_bytes() == b"video"
    assert video.read_bytes() == b"video"


@pytest.mark.parametrize("name", ["../escape.mid", "sub/../../escape.mid", "~/x.mid", "~root/x",
                                  "/etc/passwd", "/dev/null", "", ".bashrc", "notes.txt"])
def test_hostile_names_are_refused_and_nothing_is_written(places, tmp_path, name):
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(OutputPlaceError):
        write(places, name)
    assert sorted(tmp_path.rglob("*")) == before


def test_links_fifos_and_foreign_files_are_not_replaced(places, tmp_path):
    places.output_dir.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    out = places.output_dir
    (out / "link.mid").symlink_to(outside)
    (out / "linkdir").symlink_to(tmp_path)
    os.mkfifo(out / "fifo.mid")
    (out / "theirs.mid").write_text("someone else's")
    (out / "folder.mid").mkdir()
    (out / "precious.txt").write_text("mine")
    for name, reason in (("link.mid", "symbolic link"), ("linkdir/x.mid", "symbolic link"),
                         ("fifo.mid", "FIFO"), ("theirs.mid", "not written by this daemon"),
                         ("folder.mid", "folder")):
        with pytest.raises(OutputPlaceError, match=reason):
            write(places, name)
    assert outside.read_text() == "precious"
    assert (out / "link.mid").is_symlink() and stat.S_ISFIFO((out / "fifo.mid").lstat().st_mode)
    assert (out / "theirs.mid").read_text() == "someone else's"
    assert not (tmp_path / "x.mid").exists()
    with pytest.raises(OutputPlaceError, match=r"end in \.mid or \.midi"):
        write(places, "precious.txt", overwrite=True)  # only MIDI files, even when asked
    assert (out / "precious.txt").read_text() == "mine"
    write(places, "theirs.mid", overwrite=True)  # asked to: a regular file may be replaced
    assert (out / "theirs.mid").read_bytes() == b"MThd"
    with pytest.raises(OutputPlaceError, match="symbolic link"):
        write(places, "link.mid", overwrite=True)  # never a link, even when asked


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                    reason="making a device node needs root")
def test_a_device_node_is_never_replaced_even_as_root(places):
    places.output_dir.mkdir()
    device = places.output_dir / "null.mid"
    os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    for overwrite in (False, True):
        with pytest.raises(OutputPlaceError, match="a device"):
            write(places, "null.mid", overwrite=overwrite)
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_a_failed_write_leaves_nothing(places):
    with pytest.raises(RuntimeError), places.open("x.mid") as (handle, _):
        handle.write(b"partial")
        raise RuntimeError("model failed")
    assert list(places.output_dir.iterdir()) == []


def test_the_output_folder_is_made_by_the_first_write_only(tmp_path):
    places = OutputPlaces(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()
    assert write(places, "x.mid").parent == tmp_path / "a" / "b"


def test_too_long_names_get_a_clear_error(places):
    with pytest.raises(OutputPlaceError, match="file names can have at most 255"):
        write(places, "x" * 300 + ".mid")
    with pytest.raises(OutputPlaceError, match="limit is 4096"):
        write(places, "/".join(["d"] * 3000))
    with pytest.raises(OutputPlaceError, match="file names can have at most 255"):
        check_input_file("/tmp/" + "y" * 400 + ".mp4", "video file")
    with pytest.raises(OutputPlaceError, match="no video file at"):
        check_input_file("/tmp/does-not-exist.mp4", "video file")


@pytest.mark.parametrize("size", [238, 246, 255])
def test_names_of_238_to_255_bytes_in_multibyte_characters_are_written(places, tmp_path, size):
    """Issue 25: the temporary name was cut at 200 characters, not bytes, so these failed."""
    stem = "é" * ((size - 4) // 2) + "x" * ((size - 4) % 2)
    name = stem + ".mid"
    assert len(os.fsencode(name)) == size
    path = write(places, name)
    assert path.name == name and path.read_bytes() == b"MThd"
    assert sorted(p.name for p in places.output_dir.iterdir()) == [name]  # no temporaries
    # and the command line's atomic writes (render -o) likewise
    from v2m_bridge.output.paths import atomic_output

    target = tmp_path / ("あ" * ((size - 4) // 3) + "y" * ((size - 4) % 3) + ".mid")
    assert len(os.fsencode(target.name)) == size
    with atomic_output(target) as temporary:
        assert len(os.fsencode(temporary.name)) <= 255
        temporary.write_bytes(b"MThd")
    assert target.read_bytes() == b"MThd"


def test_the_default_output_folder_is_in_the_users_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_output_dir() == Path(tmp_path / "data" / "v2m-bridge")
