"""``render --video``'s sound: the music mixed under the video's own sound track by default
(issue 25: the dialogue of ``friday.mp4`` was gone), replaced, or none."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from shared_data import SHARED

from v2m_bridge.cli import build_parser
from v2m_bridge.output.audio import ORIGINAL_AUDIO_GAIN, mux_video

FRIDAY = SHARED / "data" / "videos" / "friday.mp4"
SECONDS = 3.0
RATE = 16000

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or not FRIDAY.is_file(),
                                reason="needs ffmpeg and the shared friday.mp4")


def sound(path: Path) -> np.ndarray | None:
    """The file's sound as mono float samples at RATE, or None without a sound track."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-map",
                             "0:a:0", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
                            capture_output=True, check=False, timeout=60)
    if result.returncode != 0:
        return None
    return np.frombuffer(result.stdout, dtype="<i2").astype(np.float64) / 32768.0


def write_tone(path: Path, frequency: float, amplitude: float) -> Path:
    t = np.arange(int(SECONDS * 44100)) / 44100
    samples = (amplitude * np.sin(2 * np.pi * frequency * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(44100)
        handle.writeframes(samples.tobytes())
    return path


def tone_level(samples: np.ndarray, frequency: float = 440.0) -> float:
    """The amplitude of ``frequency`` in the samples (a single DFT bin, windowed)."""
    window = np.hanning(len(samples))
    t = np.arange(len(samples)) / RATE
    return float(abs(np.sum(samples * window * np.exp(-2j * np.pi * frequency * t))))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples ** 2)))


def test_mix_keeps_the_dialogue_under_the_music_replace_and_none_do_not(tmp_path):
    original = sound(FRIDAY)[: int(SECONDS * RATE)]
    assert rms(original) > 0.01  # friday.mp4 speaks
    silence = write_tone(tmp_path / "silence.wav", 440.0, 0.0)
    music = write_tone(tmp_path / "music.wav", 440.0, 0.01)  # quiet: the dialogue dominates

    mixed_silence = sound(mux_video(FRIDAY, silence, tmp_path / "a.mp4", SECONDS))
    n = min(len(original), len(mixed_silence)) - RATE // 10
    # the soundtrack alone under silent music: the original, scaled (AAC costs a little)
    gain = rms(mixed_silence[:n]) / rms(original[:n])
    assert gain == pytest.approx(ORIGINAL_AUDIO_GAIN, rel=0.15)
    correlation = np.corrcoef(mixed_silence[:n], original[:n])[0, 1]
    assert correlation > 0.9

    mixed = sound(mux_video(FRIDAY, music, tmp_path / "b.mp4", SECONDS))
    tone_only = sound(mux_video(FRIDAY, music, tmp_path / "c.mp4", SECONDS, "replace"))
    assert abs(np.corrcoef(tone_only[:n], original[:n])[0, 1]) < 0.2  # the dialogue is gone
    assert np.corrcoef(mixed[:n], original[:n])[0, 1] > 0.8  # the dialogue is there...
    # ...and the music too (a mono tone in a stereo mix sits at -3 dB on each side)
    assert 0.5 < tone_level(mixed[:n]) / tone_level(tone_only[:n]) < 1.2
    assert tone_level(mixed[:n]) > 5 * tone_level(original[:n])
    assert sound(mux_video(FRIDAY, music, tmp_path / "d.mp4", SECONDS, "none")) is None


def test_render_takes_video_audio_and_mixes_by_default():
    parser = build_parser()
    args = parser.parse_args(["render", "v.mp4", "-o", "o.mid", "--video", "o.mp4"])
    assert args.video_audio == "mix"
    args = parser.parse_args(["render", "v.mp4", "-o", "o.mid", "--video-audio", "replace"])
    assert args.video_audio == "replace"
    with pytest.raises(SystemExit):
        parser.parse_args(["render", "v.mp4", "-o", "o.mid", "--video-audio", "loud"])
