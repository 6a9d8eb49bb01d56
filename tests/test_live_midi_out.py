"""MIDI output selection and errors, the in-memory sink, and the CLI's fail-fast paths."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from live_helpers import TINY_AMT

from v2m_bridge.daemon.midi_out import (
    MemorySink,
    MidiPortError,
    RtMidiSink,
    all_notes_off,
    find_port,
    note_off,
    note_on,
    open_sink,
)


def test_message_bytes():
    assert note_on(1, 60, 100) == (0x91, 60, 100)
    assert note_off(15, 0) == (0x8F, 0, 0)
    assert all_notes_off(2) == (0xB2, 123, 0)


def test_find_port_prefers_an_exact_name_then_a_substring():
    ports = ["loopMIDI Port v2m 1", "v2m", "Other"]
    assert find_port(ports, "V2M") == 1
    assert find_port(ports, "loopmidi") == 0
    assert find_port(ports, "missing") is None


@pytest.mark.parametrize(("spec", "message"), [
    ("bogus", "unknown MIDI backend 'bogus'"),
    ("port:", "needs a port name"),
])
def test_bad_backend_specs_are_explained(spec, message):
    with pytest.raises(MidiPortError, match=message):
        open_sink(spec)


def test_memory_sink_records_and_simulates_loss():
    now = [1.0]
    sink = open_sink("memory")
    assert isinstance(sink, MemorySink)
    sink = MemorySink(clock=lambda: now[0])
    sink.send(note_on(0, 60, 90))
    sink.disconnect()
    sink.send(note_off(0, 60))
    assert sink.messages == [(1.0, (0x90, 60, 90))]
    assert (sink.dropped, sink.is_alive(), sink.reopen()) == (1, False, False)
    sink.make_available()
    assert sink.reopen() and sink.is_alive()


def test_jack_without_a_server_says_so(monkeypatch):
    pytest.importorskip("rtmidi")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "v2m_no_such_server")
    with pytest.raises(MidiPortError, match="is a JACK server running"):
        RtMidiSink("jack")


def test_serve_fails_fast_on_a_bad_backend():
    result = subprocess.run(
        [sys.executable, "-m", "v2m_bridge", "serve", "--midi-backend", "bogus",
         "--checkpoint", str(TINY_AMT), "--port", "0"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "JACK_NO_START_SERVER": "1"})
    assert result.returncode == 1
    assert "v2m-bridge serve: error: unknown MIDI backend 'bogus'" in result.stderr


def test_doctor_says_how_to_get_jack(monkeypatch):
    from v2m_bridge.doctor import run_checks

    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "v2m_no_such_server")
    jack_check = next(c for c in run_checks() if c.name == "MIDI jack")
    assert not jack_check.ok
    assert "jackd2" in jack_check.fix
