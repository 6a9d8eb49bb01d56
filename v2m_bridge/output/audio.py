"""Hear it: render a MIDI file with FluidSynth, and put the audio under the picture with ffmpeg.

Both tools run as subprocesses with argument lists (never a shell string) and write to a temporary
file beside the target that is renamed only when the tool succeeded.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import wave
from pathlib import Path

from v2m_bridge.errors import V2MError
from v2m_bridge.output.paths import atomic_output

logger = logging.getLogger(__name__)

SOUNDFONT_ENV = "V2M_SOUNDFONT"
SOUNDFONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian/Ubuntu fluid-soundfont-gm
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",  # Fedora, Arch
    "/usr/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
)
SAMPLE_RATE = 44100
GAIN = 0.6  # FluidSynth's default 0.2 is quiet; above ~1 two parts can clip
TOOL_TIMEOUT_S = 600
RELEASE_TAIL_S = 1.0  # audio kept after the music's end so the last notes can ring out

INSTALL_HINT = ("install them with 'apt-get install fluidsynth fluid-soundfont-gm' on "
                "Debian/Ubuntu or 'brew install fluid-synth' on macOS")


# Keep the picture as it is when the container allows; else a fast, visually clean H.264.
COPY_VIDEO = ("-c:v", "copy")
REENCODE_VIDEO = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p")

# Output file suffix -> FluidSynth's --audio-file-type (libsndfile names).
AUDIO_FILE_TYPES = {".wav": "wav", ".flac": "flac", ".ogg": "oga"}


class AudioToolError(V2MError, RuntimeError):
    """FluidSynth, a soundfont or ffmpeg is missing, or one of them failed."""


def audio_file_type(path: str | os.PathLike) -> str:
    """FluidSynth's file type for an output path, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in AUDIO_FILE_TYPES:
        raise AudioToolError(f"audio output {str(path)!r} must end with "
                             f"{', '.join(AUDIO_FILE_TYPES)}")
    return AUDIO_FILE_TYPES[suffix]


def find_fluidsynth() -> str:
    path = shutil.which("fluidsynth")
    if path is None:
        raise AudioToolError(f"--audio and --video need FluidSynth and a General MIDI soundfont; "
                             f"{INSTALL_HINT}")
    return path


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path:
    """The soundfont to use: ``explicit``, then ``$V2M_SOUNDFONT``, then the usual places."""
    for candidate, origin in ((explicit, "--soundfont"),
                              (os.environ.get(SOUNDFONT_ENV), f"${SOUNDFONT_ENV}")):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise AudioToolError(f"soundfont from {origin} not found: {path}")
            return path
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise AudioToolError(f"no General MIDI soundfont found (looked in "
                         f"{', '.join(SOUNDFONT_CANDIDATES)}); {INSTALL_HINT}, or pass "
                         f"--soundfont FILE.sf2 / set ${SOUNDFONT_ENV}")


def find_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise AudioToolError("--video needs ffmpeg; install it with 'apt-get install ffmpeg' "
                             "or 'brew install ffmpeg'")
    return path


def _run(command: list[str], what: str) -> subprocess.CompletedProcess:
    logger.debug("running %s", command)
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise AudioToolError(f"{what} did not finish within {TOOL_TIMEOUT_S} s") from err
    except OSError as err:
        raise AudioToolError(f"could not run {what}: {err}") from err
    return result


def _has_audio(ffmpeg: str, video_path: str | os.PathLike) -> bool:
    """Whether the video has a sound track (ffmpeg fails to map one it does not have)."""
    result = _run([ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(video_path), "-map",
                   "0:a:0", "-t", "0", "-f", "null", "-"], "ffmpeg")
    return result.returncode == 0


def _tail(text: str, lines: int = 4) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-lines:] if line.strip())


def _trim_wav(path: Path, seconds: float) -> None:
    """Cut a WAV file to ``seconds`` (FluidSynth renders several seconds of silence at the end)."""
    with wave.open(str(path), "rb") as source:
        params = source.getparams()
        frames = source.readframes(min(params.nframes, round(seconds * params.framerate)))
    with wave.open(str(path), "wb") as target:
        target.setparams(params)
        target.writeframes(frames)


def render_audio(midi_path: str | os.PathLike, wav_path: str | os.PathLike,
                 soundfont: str | os.PathLike | None = None,
                 duration: float | None = None) -> Path:
    """Render ``midi_path`` to 44.1 kHz audio (WAV, FLAC or Ogg by suffix) with FluidSynth.

    With ``duration``, a WAV file is cut to ``duration`` plus a short release tail.
    """
    file_type = audio_file_type(wav_path)
    fluidsynth = find_fluidsynth()
    font = find_soundfont(soundfont)
    target = Path(wav_path)
    with atomic_output(target) as temp_path:
        command = [fluidsynth, "-n", "-i", "-q", "-g", str(GAIN), "-r", str(SAMPLE_RATE),
                   "-T", file_type, "-F", str(temp_path), str(font), str(midi_path)]
        result = _run(command, "FluidSynth")
        if result.returncode != 0 or temp_path.stat().st_size <= 44:
            raise AudioToolError(f"FluidSynth failed (exit {result.returncode}): "
                                 f"{_tail(result.stderr or result.stdout) or 'no audio written'}")
        if duration is not None and file_type == "wav":
            _trim_wav(temp_path, duration + RELEASE_TAIL_S)
    return target


VIDEO_AUDIO_MODES = ("mix", "replace", "none")
ORIGINAL_AUDIO_GAIN = 0.7  # the soundtrack under the music in "mix": dialogue stays clear


def mux_video(video_path: str | os.PathLike, audio_path: str | os.PathLike,
              out_path: str | os.PathLike, duration: float, audio_mode: str = "mix") -> Path:
    """Put ``audio_path`` with the picture of ``video_path``, cut to ``duration`` seconds.

    ``audio_mode``: ``mix`` (default) mixes the music with the video's own sound track (kept
    as it is when the video has none), ``replace`` puts the music in its place, ``none``
    writes the picture without any sound. The picture is copied when the output container
    accepts its codec, else re-encoded with H.264.
    """
    if audio_mode not in VIDEO_AUDIO_MODES:
        raise AudioToolError(f"video audio must be one of {', '.join(VIDEO_AUDIO_MODES)}, got "
                             f"{audio_mode!r}")
    ffmpeg = find_ffmpeg()
    target = Path(out_path)
    if audio_mode == "none":
        audio = ["-an"]
    elif audio_mode == "mix" and _has_audio(ffmpeg, video_path):
        audio = ["-filter_complex", f"[0:a:0]volume={ORIGINAL_AUDIO_GAIN}[original];"
                 "[original][1:a:0]amix=inputs=2:duration=longest:normalize=0[mixed]",
                 "-map", "[mixed]", "-c:a", "aac", "-b:a", "192k"]
    else:
        audio = ["-map", "1:a:0", "-c:a", "aac", "-b:a", "192k"]
    with atomic_output(target) as temp_path:
        errors = []
        for video_codec in (COPY_VIDEO, REENCODE_VIDEO):
            command = [ffmpeg, "-nostdin", "-y", "-loglevel", "error",
                       "-i", str(video_path), "-i", str(audio_path),
                       "-map", "0:v:0", *video_codec, *audio,
                       "-t", f"{duration:.3f}", str(temp_path)]
            result = _run(command, "ffmpeg")
            if result.returncode == 0 and temp_path.stat().st_size > 0:
                break
            errors.append(_tail(result.stderr))
        else:
            raise AudioToolError(f"ffmpeg could not write {target.name}: {errors[-1]}")
    return target
