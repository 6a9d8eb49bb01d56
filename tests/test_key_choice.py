"""``--key auto`` (issue 22): major or minor and a tonic from the picture's valence and
arousal; the user's key wins; the choice is printed and written into the MIDI file."""

from __future__ import annotations

from pathlib import Path

import cv2
import mido
import numpy as np
import pytest

from v2m_bridge.cli import main as cli_main
from v2m_bridge.features import one_hot_emotion
from v2m_bridge.music.key_choice import choose_key, key_for, valence_arousal
from v2m_bridge.options import RenderOptions
from v2m_bridge.video.analyze import extract_features
from v2m_bridge.video.fallback_emotion import estimate_emotion
from v2m_bridge.vocab import parse_key


def write_still_clip(path: Path, bgr: tuple[int, int, int], seconds: int = 5, fps: int = 10,
                     seed: int = 0) -> None:
    """One uncut shot of a flat colour with a faint, slowly drifting texture."""
    rng = np.random.default_rng(seed)
    width, height = 96, 64
    texture = rng.integers(0, 6, size=(height, width, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for index in range(seconds * fps):
        frame = np.empty((height, width, 3), np.uint8)
        frame[:] = bgr
        frame = cv2.add(frame, np.roll(texture, index // 5, axis=1))
        writer.write(frame)
    writer.release()


DARK_GREY = (32, 30, 30)  # BGR: dark, desaturated, a little cold
BRIGHT_WARM = (120, 200, 235)  # BGR: a bright, warm, saturated afternoon


def test_dark_slow_desaturated_footage_gets_minor_and_bright_calm_footage_major(tmp_path):
    dark, bright = tmp_path / "dark.mp4", tmp_path / "bright.mp4"
    write_still_clip(dark, DARK_GREY)
    write_still_clip(bright, BRIGHT_WARM)
    dark_choice = choose_key(extract_features(dark))
    bright_choice = choose_key(extract_features(bright))
    assert dark_choice.key.is_minor, dark_choice.describe()
    assert not bright_choice.key.is_minor, bright_choice.describe()
    assert dark_choice.valence < 0 < bright_choice.valence


def test_the_fallback_readings_valence_and_arousal_are_read_back_in_order():
    # colour statistics (brightness, saturation, warmth, contrast) through the fallback reading
    stats = {"dark": [0.1, 0.05, -0.05, 0.1], "bright": [0.8, 0.5, 0.1, 0.2]}
    readings = {name: valence_arousal(estimate_emotion(np.tile(s, (10, 1)), np.full(10, 0.5)))
                for name, s in stats.items()}
    assert readings["dark"][0] < -0.15 < readings["bright"][0]
    busy = valence_arousal(estimate_emotion(np.tile(stats["bright"], (10, 1)),
                                            np.full(10, 40.0), [1.0, 3.0, 5.0, 7.0, 9.0]))
    assert busy[1] > readings["bright"][1] + 0.3


@pytest.mark.parametrize(("label", "minor"), [("sad", True), ("fearful", True), ("tense", True),
                                              ("relaxing", False), ("exciting", False),
                                              ("neutral", False)])
def test_mode_follows_valence(label, minor):
    assert key_for(*valence_arousal(one_hot_emotion(label)[None])).is_minor is minor


def test_arousal_raises_the_register_and_neutral_keeps_the_models_frame():
    calm, energetic = key_for(0.5, -0.8), key_for(0.5, 0.8)
    assert calm.semitones_from_normalised < 0 < energetic.semitones_from_normalised
    assert key_for(*valence_arousal(one_hot_emotion("neutral")[None])) == parse_key("C major")
    assert key_for(-0.5, -0.2) == parse_key("A minor")
    assert valence_arousal(np.zeros((0, 6))) == (0.0, -0.2)


def test_the_users_key_wins_and_auto_is_the_default():
    features = type("F", (), {"emotion": np.tile(one_hot_emotion("sad"), (10, 1))})()
    assert RenderOptions().key_auto
    given, choice = RenderOptions(key="E major").with_key_for(features)
    assert given.key == parse_key("E major") and choice is None
    auto, choice = RenderOptions().with_key_for(features)
    assert auto.key.is_minor and choice is not None and choice.key == auto.key
    assert RenderOptions(key=" Auto ").key_auto
    assert RenderOptions().fixed_key == parse_key("C major")  # where there is no video


def test_render_prints_the_chosen_key_and_writes_it_into_the_midi_file(tmp_path, capsys):
    video = tmp_path / "dark.mp4"
    write_still_clip(video, DARK_GREY, seconds=4)
    out = tmp_path / "dark.mid"
    assert cli_main(["render", str(video), "-o", str(out), "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    key_line = next(line for line in printed.splitlines() if line.startswith("key: "))
    assert "minor" in key_line and "auto: valence" in key_line
    signatures = [m.key for track in mido.MidiFile(out).tracks for m in track
                  if m.type == "key_signature"]
    assert signatures and signatures[0].endswith("m"), signatures
    assert key_line.split()[1] == signatures[0][:-1]  # the printed tonic is the file's
