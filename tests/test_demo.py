"""``v2m-bridge demo`` and the demo clip it ships; the ``doctor`` table that reports them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from v2m_bridge import doctor
from v2m_bridge.cli import main
from v2m_bridge.cli.demo import render_arguments
from v2m_bridge.cli.render import run_render
from v2m_bridge.demo_data import DEMO_CLIP, DEMO_CUTS_S, DEMO_DIR, DEMO_DURATION_S, DEMO_LICENSE
from v2m_bridge.output.audio import AudioToolError


def test_demo_clip_is_small_cc0_and_carries_its_licence():
    import cv2

    assert DEMO_CLIP.stat().st_size < 1_000_000
    capture = cv2.VideoCapture(str(DEMO_CLIP))
    try:
        frames = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        fps = capture.get(cv2.CAP_PROP_FPS)
        height = capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    finally:
        capture.release()
    assert frames / fps == pytest.approx(DEMO_DURATION_S, abs=0.05)
    assert height == 360
    licence = DEMO_LICENSE.read_text()
    assert "CC0 1.0" in licence and "flower.mp4" in licence and "friday.mp4" in licence
    assert "crystal.mp4" in licence and str(DEMO_CLIP.stat().st_size) in licence.replace(",", "")
    assert "CC0 1.0 Universal" in (DEMO_DIR / "CC0-1.0.txt").read_text()
    assert len(DEMO_CUTS_S) >= 2


def test_demo_runs_the_render_command_on_the_clip(tmp_path):
    args = render_arguments(tmp_path, seed=4, soundfont=None, audio=False)
    assert args.func is run_render
    assert args.video == DEMO_CLIP and args.seed == 4
    assert args.output == tmp_path / "demo.mid" and args.plot == tmp_path / "demo.png"
    assert args.audio is None
    with_audio = render_arguments(tmp_path, seed=4, soundfont=Path("gm.sf2"), audio=True)
    assert with_audio.audio == tmp_path / "demo.wav" and with_audio.soundfont == Path("gm.sf2")


def test_demo_without_fluidsynth_says_so_once_and_succeeds(tmp_path, monkeypatch, capsys):
    import mido

    def no_fluidsynth() -> str:
        raise AudioToolError("--audio and --video need FluidSynth and a General MIDI soundfont")

    monkeypatch.setattr("v2m_bridge.output.audio.find_fluidsynth", no_fluidsynth)
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "new" / "folder"
    assert main(["demo", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert sorted(path.name for path in out.iterdir()) == ["demo.mid", "demo.png"]
    assert [line for line in printed.splitlines() if "audio" in line.lower()
            and "VIDEO" not in line] == [
        "no audio: --audio and --video need FluidSynth and a General MIDI soundfont"]
    assert f"wrote {out / 'demo.mid'}" in printed and f"wrote {out / 'demo.png'}" in printed
    assert "v2m-bridge render VIDEO -o VIDEO.mid --plot VIDEO.png\n" in printed

    midi = mido.MidiFile(out / "demo.mid")
    assert midi.length == pytest.approx(DEMO_DURATION_S, abs=0.05)
    markers = [message.text for message in mido.merge_tracks(midi.tracks)
               if message.type == "marker"]
    assert len(markers) >= 2
    assert "cuts: 2 detected; chord change or re-strike within 0.000 s of each" in printed


def test_demo_is_reproducible_with_its_default_seed(tmp_path, monkeypatch):
    monkeypatch.setattr("v2m_bridge.cli.demo.audio_unavailable", lambda soundfont: "off")
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("a", "b"):
        assert main(["demo", "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / "a" / "demo.mid").read_bytes() == (tmp_path / "b" / "demo.mid").read_bytes()


def names(checks: list[doctor.Check]) -> list[str]:
    return [check.name for check in checks]


def test_doctor_reports_every_piece_in_one_table():
    checks = doctor.run_checks()
    found = names(checks)
    for name in ("demo clip", "chord model", "CLIP weights", "torch", "fluidsynth", "soundfont",
                 "ffmpeg", "Ray (cluster extra)", "music21 (notation extra)"):
        assert name in found
    assert any(name.startswith("MIDI ") for name in found)
    demo = checks[found.index("demo clip")]
    assert demo.ok and str(DEMO_CLIP) in demo.detail

    lines = doctor.format_table(checks)
    assert lines[0].split() == ["piece", "status", "details"]
    rows = [index for index, line in enumerate(lines) if index > 1 and not line.startswith(" ")]
    assert len(rows) == len(checks)
    for check, index in zip(checks, rows, strict=True):
        assert lines[index].startswith(check.name) and f" {check.label} " in lines[index]
        if not check.ok and check.fix:  # what to do about it, right under it
            assert lines[index + 1].strip() == f"fix: {check.fix}"


def test_doctor_without_clip_weights_or_ray_is_still_ready(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name in (
        "ray", "music21") else real_find_spec(name, *rest))
    checks = doctor.run_checks()
    by_name = dict(zip(names(checks), checks, strict=True))
    music21 = by_name["music21 (notation extra)"]  # issue 25: --musicxml needs it
    assert not music21.ok and not music21.required and "--musicxml" in music21.detail
    assert "notation" in music21.fix or "music21" in music21.fix
    ray = by_name["Ray (cluster extra)"]
    assert not ray.ok and not ray.required and ray.detail.startswith("not installed")
    assert ray.fix.startswith("pip install")
    clip = by_name["CLIP weights"]
    assert not clip.required
    if not clip.ok:  # no weights here: the fallback runs, which is not a failure
        assert clip.label == "fallback" and "V2M_CLIP_WEIGHTS" in clip.fix
    required_ok = all(check.ok for check in checks if check.required)
    line, status = doctor.summary(checks)
    assert (status == 0) == required_ok
    if required_ok:
        assert line.startswith("ready") and "Ray" in line


def test_doctor_fails_when_the_demo_clip_is_gone(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(doctor, "DEMO_CLIP", tmp_path / "missing.mp4")
    assert main(["doctor"]) == 1
    printed = capsys.readouterr().out
    assert printed.count("piece ") == 1  # one table
    assert "demo clip" in printed and "MISSING" in printed and "reinstall v2m-bridge" in printed
    assert "required piece(s) missing: demo clip" in printed
