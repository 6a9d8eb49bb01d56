"""The daemon scores to picture too (issue 13): a tempo fitted on /v2m/video/open or by the
/v2m/tempo setting, and /v2m/regenerate as a bar-snapped re-roll that answers which bars changed
and keeps every chord outside them."""

from __future__ import annotations

import pytest
from live_helpers import TINY_AMT, VIDEOS, in_process_daemon
from shared_data import skip_reason

from v2m_bridge.options import TempoSetting

MONTAGE = VIDEOS / "montage_cc0_4shots.mp4"  # cuts at 5, 11 and 17 s


@pytest.fixture(scope="module")
def chord_model():
    if not TINY_AMT.is_file() or not MONTAGE.is_file():
        pytest.skip(skip_reason(TINY_AMT if not TINY_AMT.is_file() else MONTAGE))
    from v2m_bridge.model.loading import load_chord_model

    return load_chord_model(TINY_AMT)


@pytest.fixture
def daemon(chord_model):
    with in_process_daemon(chord_model) as daemon:
        yield daemon


def test_open_with_tempo_auto_map_then_regenerate_answers_the_bars(daemon, client):
    client.send("/v2m/seed", 3)
    assert client.wait_for("/v2m/ok") == ("/v2m/seed",)
    client.send("/v2m/video/open", str(MONTAGE), 0.0, "auto map")
    path, _duration = client.wait_for("/v2m/ready", timeout=60)
    opened = daemon.session.composition
    fit = opened.tempo_fit
    assert fit.mode == "map" and fit.chosen.hits == 3
    # kept for the next open, parsed once
    assert daemon.session.settings.tempo == TempoSetting.parse("auto map")
    old_events = list(opened.events)

    client.send("/v2m/seed", 4)
    client.wait_for("/v2m/ok")
    client.send("/v2m/regenerate", 6.0, 12.0)
    reply = client.wait_for("/v2m/ready", timeout=60)
    assert reply[0] == path and len(reply) == 4
    first_bar, last_bar = reply[2], reply[3]
    new = daemon.session.composition
    tempo = new.tempo_map
    assert tempo == opened.tempo_map  # the opened tempo map is kept
    start = tempo.time_at(tempo.bar_start_beat(first_bar))
    end = tempo.time_at(tempo.bar_start_beat(last_bar + 1))
    assert abs(start - 6.0) < 2.5 and abs(end - 12.0) < 2.5 and 1 <= first_bar <= last_bar
    outside = [e for e in old_events if (e.start < start - 1e-9 and e.end <= start + 1e-9)
               or e.start >= end - 1e-9]
    assert outside and all(e in new.events for e in outside)
    assert new.rerolled_bars == (first_bar, last_bar)


def test_tempo_and_rhythm_settings(daemon, client):
    for value in ("96", "auto", "auto map 80:120", ""):
        client.send("/v2m/tempo", value)
        assert client.wait_for("/v2m/ok") == ("/v2m/tempo",)
    for bad, message in (("fast", "tempo must be"), ("auto 140:70", "reversed"),
                         ("auto map 10:20", "within")):
        client.send("/v2m/tempo", bad)
        failed, text = client.wait_for("/v2m/error")
        assert failed == "/v2m/tempo" and message in text
    client.send("/v2m/rhythm", "2bars")
    assert client.wait_for("/v2m/ok") == ("/v2m/rhythm",)
    client.send("/v2m/rhythm", "3bars")
    assert "--harmonic-rhythm must be one of" in client.wait_for("/v2m/error")[1]
    client.send("/v2m/tempo", "auto")
    client.wait_for("/v2m/ok")
    client.send("/v2m/video/open", str(MONTAGE))
    client.wait_for("/v2m/ready", timeout=60)
    composition = daemon.session.composition
    assert composition.grid.harmonic_rhythm == "2bars"
    assert composition.tempo_fit.mode == "auto"
    assert 70 <= composition.tempo_map.main_bpm() <= 140


def test_open_follows_reapers_tempo_unless_a_tempo_is_set(daemon, client):
    """Issue 21: while the daemon follows Reaper's transport, a video opened without a tempo
    setting gets Reaper's tempo (the music sits on the project's grid); a set tempo wins."""
    client.send("/v2m/hello", "test", client.port)
    client.wait_for("/v2m/status")
    client.send("/tempo/raw", 97.0)  # Reaper's feedback: the daemon now follows Reaper
    client.send("/v2m/video/open", str(MONTAGE))
    client.wait_for("/v2m/ready", timeout=60)
    fit = daemon.session.composition.tempo_fit
    assert fit.mode == "fixed"  # the tempo as a MIDI file can hold it (whole microseconds)
    assert daemon.session.composition.tempo_map.tempos == [pytest.approx(97.0, abs=1e-3)]
    client.send("/v2m/tempo", 120)
    assert client.wait_for("/v2m/ok") == ("/v2m/tempo",)
    client.send("/v2m/video/open", str(MONTAGE))
    client.wait_for("/v2m/ready", timeout=60)
    assert daemon.session.composition.tempo_map.tempos == [120.0]
