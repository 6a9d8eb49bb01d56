"""``v2m-bridge serve`` (the daemon), ``v2m-bridge ports`` and ``v2m-bridge doctor``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time

from v2m_bridge.config import DEFAULT_HOST, DEFAULT_PORT
from v2m_bridge.daemon.midi_out import BACKEND_CHOICES

log = logging.getLogger("v2m_bridge.serve")


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve", help="run the daemon: OSC control, MIDI out in sync with the DAW's transport",
        description="Load the model once, listen for OSC (see the README's OSC table) and stream "
        "chords and arpeggios to a MIDI port, following Reaper's OSC transport, MIDI Time Code "
        "or /v2m/transport/* messages. Stop with Ctrl-C or SIGTERM.")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on "
                       "(default: %(default)s; any other needs --token)")
    serve.add_argument("--token", default=os.environ.get("V2M_TOKEN") or None, metavar="SECRET",
                       help="a shared secret every /v2m/ request must carry as its first "
                       "argument (default: $V2M_TOKEN; required with a --host beyond this "
                       "machine)")
    serve.add_argument("--output-dir", metavar="DIR", help="where /v2m/render writes relative "
                       "names (default: a v2m-bridge folder in your data directory, e.g. "
                       "~/.local/share/v2m-bridge); it writes nowhere else but next to the "
                       "opened video")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help="OSC port (default: %(default)s)")
    serve.add_argument("--reply-port", type=int, help="send replies to the sender's host at this "
                       "port (default: the port the request came from)")
    serve.add_argument("--midi-backend", default="auto", metavar="BACKEND",
                       help=f"one of {', '.join(BACKEND_CHOICES)} (default: %(default)s: ALSA, "
                       "then JACK on Linux; CoreMIDI on macOS; on Windows use port:NAME with a "
                       "loopMIDI port; memory: no MIDI port at all, for OSC control, "
                       "/v2m/render files and tests on a machine without ALSA or JACK)")
    serve.add_argument("--mtc-in", metavar="PORT", help="chase MIDI Time Code from this input "
                       "port ('virtual' creates v2m_bridge_in:mtc_in)")
    serve.add_argument("--clock-out", metavar="PORT", help="send MIDI clock (24 per quarter "
                       "note, Start/Stop/Continue, Song Position) following the transport to this "
                       "destination port ('virtual' creates v2m_bridge_clock:clock_out)")
    serve.add_argument("--link", action="store_true", help="join the Ableton Link session and "
                       "follow its tempo, bar phase and start/stop (needs the [live] extra; "
                       "/v2m/transport/follow link does the same later)")
    serve.add_argument("--no-discovery", dest="discovery", action="store_false",
                       help="do not serve the OSCQuery description of the OSC addresses (HTTP "
                       "on the OSC port's number over TCP) nor advertise it over mDNS")
    serve.add_argument("--device", help="torch device: cpu, cuda or mps (default: best available)")
    serve.add_argument("--checkpoint", help="AMT checkpoint (default: the shipped starter model)")
    serve.add_argument("--clip-weights", help="CLIP ViT-L/14@336px weights (default: "
                       "$V2M_CLIP_WEIGHTS or the usual caches, else the labelled fallback)")
    serve.set_defaults(func=run_serve)

    ports = subparsers.add_parser("ports", help="list MIDI ports per backend",
                                  description="List the MIDI ports each backend can see.")
    ports.set_defaults(func=run_ports)

    doctor = subparsers.add_parser(
        "doctor", help="check the set-up and say how to fix what is missing",
        description="Check torch and its device, CLIP weights, the model, MIDI backends, ffmpeg, "
        "FluidSynth and music21 (for --musicxml).")
    doctor.set_defaults(func=run_doctor)


def run_serve(args: argparse.Namespace) -> int:
    from v2m_bridge.daemon.app import Daemon, DaemonConfig, check_bind
    from v2m_bridge.daemon.backend import ModelBackend
    from v2m_bridge.daemon.midi_out import open_sink
    from v2m_bridge.model.loading import load_chord_model
    from v2m_bridge.osc.ports import check_port

    check_port(args.port, "--port", allow_zero=True)
    if args.reply_port is not None:
        check_port(args.reply_port, "--reply-port", allow_zero=True)
    started = time.perf_counter()
    config = DaemonConfig(host=args.host, port=args.port, reply_port=args.reply_port,
                          midi_backend=args.midi_backend, mtc_in=args.mtc_in,
                          output_dir=args.output_dir, token=args.token,
                          discovery=args.discovery, clock_out=args.clock_out,
                          link=args.link)
    check_bind(config.host, config.token)  # fail fast, before the MIDI port and the model
    sink = open_sink(config.midi_backend, config.client_name)  # fail fast, before the model
    try:
        chord_model = load_chord_model(args.checkpoint, args.device)
        log.info("chord model: %s%s", chord_model.label, f" ({chord_model.note})"
                 if chord_model.note else "")
        backend = ModelBackend(chord_model, clip_weights=args.clip_weights, device=args.device)
        daemon = Daemon(config, backend, sink=sink)
    except BaseException:
        sink.close()
        raise
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    daemon.start()
    host, port = daemon.server.address
    mtc = f", MTC in {daemon.mtc_input.name}" if daemon.mtc_input else ""
    if daemon.session.clocks.following_link:
        mtc += ", following Ableton Link"
    if daemon.scheduler.clock_out is not None:
        mtc += f", MIDI clock out {daemon.scheduler.clock_out.sink.name}"
    log.info("MIDI out: %s%s", daemon.sink.name, mtc)
    query = (f", OSCQuery on http://{daemon.discovery.host}:{daemon.discovery.port}/"
             if daemon.discovery else "")
    print(f"v2m-bridge ready in {time.perf_counter() - started:.2f} s: OSC on {host}:{port}, "
          f"MIDI out {daemon.sink.name}{mtc}{query}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        log.info("shutting down: ending all notes")
        daemon.close()
    return 0


def run_ports(args: argparse.Namespace) -> int:
    from v2m_bridge.daemon.midi_out import list_ports

    for api, ports in list_ports().items():
        if isinstance(ports, str):
            print(f"{api}: {ports}")
            continue
        print(f"{api}:")
        print("  destinations (use with --midi-backend port:NAME): "
              + (", ".join(ports["outputs"]) or "none"))
        print("  sources (use with --mtc-in NAME): " + (", ".join(ports["inputs"]) or "none"))
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    from v2m_bridge.doctor import format_table, run_checks, summary

    checks = run_checks()
    print("\n".join(format_table(checks)))
    line, status = summary(checks)
    print(line)
    return status
