"""``v2m-bridge doctor``: check each part of the set-up and say how to fix what is missing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

from v2m_bridge.daemon.midi_out import list_ports
from v2m_bridge.errors import V2MError
from v2m_bridge.model import starter_amt_path
from v2m_bridge.video.clip_features import find_clip_weights


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _torch() -> Check:
    try:
        import torch

        from v2m_bridge.device import pick_device  # imports torch
    except ImportError as err:
        return Check("torch", False, f"cannot import: {err}", "pip install torch torchvision")
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
                     "(or pass --clip-weights)")
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
            checks.append(Check(f"MIDI {api}", False, result, fixes.get(api, "")))
        else:
            checks.append(Check(f"MIDI {api}", True,
                                f"{len(result['outputs'])} destination(s), "
                                f"{len(result['inputs'])} source(s)"))
    return checks


def _tool(name: str, purpose: str, fix: str) -> Callable[[], Check]:
    def check() -> Check:
        path = shutil.which(name)
        return Check(name, path is not None, path or f"not found ({purpose})", fix)
    return check


def run_checks() -> list[Check]:
    checks = [_torch(), _clip_weights(), _model(), *_midi()]
    checks.append(_tool("ffmpeg", "needed for render --video", "apt-get install ffmpeg / "
                        "brew install ffmpeg")())
    checks.append(_tool("fluidsynth", "needed for render --audio/--video",
                        "apt-get install fluidsynth fluid-soundfont-gm / brew install "
                        "fluid-synth")())
    return checks
