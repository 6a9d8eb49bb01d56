"""``v2m-bridge doctor``: check each part of the set-up and say how to fix what is missing."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import torch

from v2m_bridge.daemon.midi_out import list_ports
from v2m_bridge.demo_data import DEMO_CLIP, DEMO_LICENSE
from v2m_bridge.device import pick_device
from v2m_bridge.errors import V2MError
from v2m_bridge.model import starter_amt_path
from v2m_bridge.output.audio import AudioToolError, find_soundfont
from v2m_bridge.video.clip_features import find_clip_weights


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # False: v2m-bridge works without it (a feature or a fallback is off)
    status: str = ""  # the word in the table; default "ok", "MISSING" or "missing"

    @property
    def label(self) -> str:
        if self.status:
            return self.status
        if self.ok:
            return "ok"
        return "MISSING" if self.required else "missing"


def _torch() -> Check:
    # torch is a hard dependency (the model package imports it), so this only reports the device
    device = pick_device()
    return Check("torch", True, f"{torch.__version__}, device {device}"
                 + (" (no GPU: analysis runs on CPU, a few seconds per video second)"
                    if device.type == "cpu" else ""))


def _clip_weights() -> Check:
    path = find_clip_weights()
    if path is None:
        return Check("CLIP weights", False, "ViT-L/14@336px weights not found; the labelled "
                     "fallback features are used",
                     "download ViT-L-14-336 weights once and set V2M_CLIP_WEIGHTS=/path/to/file "
                     "(or pass --clip-weights)", required=False, status="fallback")
    return Check("CLIP weights", True, str(path))


def _model() -> Check:
    try:
        return Check("chord model", True, f"starter model at {starter_amt_path()}")
    except V2MError as err:
        return Check("chord model", False, str(err),
                     "pass --checkpoint PATH to serve/render (an official best_loss_weights."
                     "pickle or a project checkpoint)")


def _midi() -> list[Check]:
    try:
        ports = list_ports()
    except (ImportError, OSError) as err:
        return [Check("MIDI", False, f"python-rtmidi does not load: {err}",
                      "pip install python-rtmidi; on Linux also install libasound2")]
    fixes = {"alsa": "ALSA needs /dev/snd/seq (a desktop Linux; not containers). Use "
                     "--midi-backend jack with a JACK server instead",
             "jack": "start a JACK server, e.g. 'jackd -d dummy' headless or via QjackCtl/"
                     "PipeWire (apt-get install jackd2)",
             "core": "CoreMIDI is part of macOS",
             "winmm": "install loopMIDI, create a port 'v2m' and use "
                                   "--midi-backend port:v2m"}
    checks = []
    for api, result in ports.items():
        if isinstance(result, str):
            checks.append(Check(f"MIDI {api}", False, result, fixes.get(api, ""),
                                required=False))
        else:
            checks.append(Check(f"MIDI {api}", True,
                                f"{len(result['outputs'])} destination(s), "
                                f"{len(result['inputs'])} source(s)"))
    return checks


def _tool(name: str, purpose: str, fix: str) -> Callable[[], Check]:
    def check() -> Check:
        path = shutil.which(name)
        return Check(name, path is not None, path or f"not found ({purpose})", fix,
                     required=False)
    return check


def _demo_clip() -> Check:
    if not DEMO_CLIP.is_file():
        return Check("demo clip", False, f"not found at {DEMO_CLIP}",
                     "reinstall v2m-bridge (the clip is package data: pip install -e . from a "
                     "full checkout, or the wheel)")
    size_kb = DEMO_CLIP.stat().st_size / 1000
    licence = "CC0, see " + DEMO_LICENSE.name if DEMO_LICENSE.is_file() else "LICENSE.md missing"
    return Check("demo clip", True, f"{DEMO_CLIP} ({size_kb:.0f} kB, {licence})",
                 "reinstall v2m-bridge")


def _soundfont() -> Check:
    try:
        return Check("soundfont", True, str(find_soundfont()), required=False)
    except AudioToolError as err:
        return Check("soundfont", False, str(err).split(";")[0],
                     "apt-get install fluid-soundfont-gm, or set V2M_SOUNDFONT=/path/to/GM.sf2 "
                     "(or pass --soundfont)", required=False)


def _declares_extra(extra: str) -> bool:
    try:
        return extra in (importlib.metadata.metadata("v2m-bridge").get_all("Provides-Extra")
                         or [])
    except importlib.metadata.PackageNotFoundError:
        return False


def _extra_package(module: str, name: str, extra: str, purpose: str,
                   distribution: str | None = None) -> Check:
    """A package only an optional extra needs, shown as ``name``: looked up, not imported
    (importing Ray or music21 takes seconds). ``purpose`` says what it is for."""
    distribution = distribution or module
    fix = (f"pip install -e '.[{extra}]'" if _declares_extra(extra) else
           f"pip install {distribution} (this v2m-bridge declares no '{extra}' extra yet)")
    label = f"{name} ({extra} extra)"
    if importlib.util.find_spec(module) is None:
        return Check(label, False, f"not installed (needed for {purpose})", fix, required=False)
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        version = "version unknown"
    return Check(label, True, f"{distribution} {version} ({purpose})", fix, required=False)


def run_checks() -> list[Check]:
    checks = [_demo_clip(), _model(), _clip_weights(), _torch()]
    checks.append(_tool("fluidsynth", "needed for audio: demo, render --audio/--video",
                        "apt-get install fluidsynth fluid-soundfont-gm / brew install "
                        "fluid-synth")())
    checks.append(_soundfont())
    checks.append(_tool("ffmpeg", "needed for render --video", "apt-get install ffmpeg / "
                        "brew install ffmpeg")())
    checks.extend(_midi())
    checks.append(_extra_package("music21", "music21", "notation", "render --musicxml"))
    checks.append(_extra_package("ray", "Ray", "cluster", "v2m-bridge batch"))
    checks.append(_extra_package("zeroconf", "zeroconf", "live",
                                 "OSCQuery advertised over mDNS"))
    checks.append(_extra_package("link", "LinkPython-extern", "live",
                                 "Ableton Link: serve --link", distribution="LinkPython-extern"))
    return checks


def format_table(checks: list[Check]) -> list[str]:
    """One table, one row per check: piece, status, details; a "fix:" line under what is not ok.
    """
    name_width = max(len("piece"), *(len(check.name) for check in checks))
    status_width = max(len("status"), *(len(check.label) for check in checks))
    indent = " " * (name_width + status_width + 4)
    lines = [f"{'piece':<{name_width}}  {'status':<{status_width}}  details",
             f"{'-' * name_width}  {'-' * status_width}  {'-' * 7}"]
    for check in checks:
        lines.append(f"{check.name:<{name_width}}  {check.label:<{status_width}}  {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"{indent}fix: {check.fix}")
    return lines


def summary(checks: list[Check]) -> tuple[str, int]:
    """The line under the table, and the exit status (1 when a required piece is missing)."""
    required = [check.name for check in checks if check.required and not check.ok]
    optional = [check.name for check in checks if not check.required and not check.ok]
    if required:
        return f"{len(required)} required piece(s) missing: {', '.join(required)}", 1
    if optional:
        return (f"ready (the demo and render run); optional, not set up: "
                f"{', '.join(optional)}"), 0
    return "all checks passed", 0
