"""The ``v2m-bridge`` command line: one module per command group in this package.

Each group module has a ``register(subparsers)`` function; this file collects them. Heavy imports
(torch, OpenCV, matplotlib) happen inside the command functions, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys

from v2m_bridge import __version__
from v2m_bridge.cli import (
    analyze,
    batch,
    cache,
    demo,
    model,
    render,
    replay,
    retrieval,
    send,
    serve,
    train,
)
from v2m_bridge.cli.logs import setup_logging
from v2m_bridge.errors import V2MError

# Command groups, in the order their commands appear in --help. Each has a register(subparsers)
# function; heavy imports (torch, OpenCV) stay inside the command functions.
COMMAND_GROUPS = (model, analyze, render, demo, batch, serve, send, replay, train, retrieval,
                  cache)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="v2m-bridge",
        description="Video to music: chords and arpeggios that follow a video's mood, cuts and "
        "motion, for DAWs, Max/MSP and MIDI files.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in COMMAND_GROUPS:
        group.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except (V2MError, FileNotFoundError, IsADirectoryError, PermissionError) as err:
        print(f"v2m-bridge {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
