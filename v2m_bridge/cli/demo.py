"""``v2m-bridge demo``: score the clip shipped in the package, so a first run works anywhere.

The demo is the ``render`` command run on :data:`v2m_bridge.demo_data.DEMO_CLIP` with a plot, and
with audio when FluidSynth and a soundfont are present. It goes through the render command's own
parser and :func:`~v2m_bridge.cli.render.run_render`, so it shows exactly what ``render`` does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from v2m_bridge.cli import render
from v2m_bridge.demo_data import DEMO_CLIP, DEMO_LICENSE

DEFAULT_DIR = Path("v2m-demo")
DEFAULT_SEED = 1  # the demo sounds the same every time; --seed changes it
STEM = "demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="score the 12 s demo clip shipped with v2m-bridge (MIDI, plot, audio)",
        description="Render the demo clip shipped with the package (12 s, three shots, CC0) "
        "with the shipped model: a MIDI file and a timeline plot, and audio when FluidSynth "
        "and a General MIDI soundfont are installed. Then shows how to score your own video.")
    parser.add_argument("-o", "--output-dir", type=Path, default=DEFAULT_DIR, metavar="DIR",
                        help="folder for demo.mid, demo.png and demo.wav; created if missing "
                        "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="random seed of the chords (default: %(default)s)")
    parser.add_argument("--soundfont", type=Path, default=None,
                        help="General MIDI soundfont for the audio (default: $V2M_SOUNDFONT or "
                        "the usual places)")
    parser.set_defaults(func=run_demo)


def render_arguments(folder: Path, seed: int, soundfont: Path | None,
                     audio: bool) -> argparse.Namespace:
    """The demo as ``render`` arguments, parsed by the render command's own parser."""
    argv = ["render", str(DEMO_CLIP), "-o", str(folder / f"{STEM}.mid"),
            "--plot", str(folder / f"{STEM}.png"), "--seed", str(seed)]
    if audio:
        argv += ["--audio", str(folder / f"{STEM}.wav")]
        if soundfont is not None:
            argv += ["--soundfont", str(soundfont)]
    parser = argparse.ArgumentParser(prog="v2m-bridge")
    render.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def audio_unavailable(soundfont: Path | None) -> str | None:
    """Why audio cannot be rendered here, or ``None`` when FluidSynth and a soundfont exist."""
    from v2m_bridge.output.audio import AudioToolError, find_fluidsynth, find_soundfont

    try:
        find_fluidsynth()
        find_soundfont(soundfont)
    except AudioToolError as err:
        return str(err)
    return None


def run_demo(args: argparse.Namespace) -> int:
    if not DEMO_CLIP.is_file():
        raise FileNotFoundError(f"the demo clip is missing from this install: {DEMO_CLIP} "
                                "(reinstall v2m-bridge)")
    folder: Path = args.output_dir.expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    no_audio = audio_unavailable(args.soundfont)
    render_args = render_arguments(folder, args.seed, args.soundfont, audio=no_audio is None)
    print(f"demo: scoring {DEMO_CLIP.name} (12 s, cuts at 3 s and 9 s; CC0, see "
          f"{DEMO_LICENSE})")
    status = render.run_render(render_args)
    if status:
        return status
    if no_audio:
        print(f"no audio: {no_audio}")
    written = [render_args.output, render_args.plot, render_args.audio]
    print("demo written to " + str(folder) + ": "
          + ", ".join(path.name for path in written if path is not None))
    print("next, score your own video:\n"
          "  v2m-bridge render VIDEO -o VIDEO.mid --plot VIDEO.png"
          + ("" if no_audio else " --audio VIDEO.wav")
          + "\n  (v2m-bridge render --help lists key, primer, emotion and tempo options; "
          "v2m-bridge doctor checks the set-up)")
    return 0
