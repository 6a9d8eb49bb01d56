"""The ``v2m-bridge`` command line.

Each feature package owns its subcommands in a small ``cli`` module with a
``register(subparsers)`` function; this file only collects them. Heavy imports (torch, OpenCV)
happen inside the command functions, so ``v2m-bridge --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from v2m_bridge import __version__
from v2m_bridge.errors import V2MError

# Modules with a register(subparsers) function, in the order their commands appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "v2m_bridge.model.cli",
    "v2m_bridge.video.cli",
    "v2m_bridge.music.cli",
    "v2m_bridge.live.cli",
    "v2m_bridge.send_cli",
    "v2m_bridge.live.replay_cli",
    "v2m_bridge.training.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="v2m-bridge",
        description="Video to music: chords and arpeggios that follow a video's mood, cuts and "
        "motion, for DAWs, Max/MSP and MIDI files.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (V2MError, FileNotFoundError, IsADirectoryError, PermissionError) as err:
        print(f"v2m-bridge {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
