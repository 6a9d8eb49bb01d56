"""Issue 25's daemon items, each sent over UDP to the in-process daemon exactly as found: path
arguments that name folders (item 5), packets without the token (item 6) and which client a full
table drops (item 7)."""

from __future__ import annotations

import socket
import time

import pytest
from live_helpers import VIDEOS, OscClient, in_process_daemon

from v2m_bridge.daemon.clients import MAX_CLIENTS
from v2m_bridge.daemon.server import UNAUTHENTICATED_ERRORS_PER_SECOND

VIDEO = VIDEOS / "flower.mp4"
PATH_REQUESTS = {  # address -> the arguments after the path
    "/v2m/video/open": (),
    "/v2m/render": (),
    "/v2m/live/image": (0.5,),
    "/v2m/match": None,  # the path is its second argument (the library folder)
}


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "out"


@pytest.fixture
def daemon(chord_model, out_dir):
    with in_process_daemon(chord_model, output_dir=str(out_dir)) as daemon:
        yield daemon


def replies(client: OscClient, window_s: float = 0.3) -> list[tuple[str, tuple]]:
    """Every reply that comes within ``window_s`` (status broadcasts left out)."""
    got = []
    deadline = time.monotonic() + window_s
    while (left := deadline - time.monotonic()) > 0:
        reply = client.receive(timeout=left)
        if reply is not None and reply[0] != "/v2m/status":
            got.append(reply)
    return got


def final_reply(client: OscClient, address: str, timeout: float = 30.0) -> tuple[str, tuple]:
    """The reply that completes a request to ``address`` (progress and status skipped)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        reply = client.receive(timeout=left)
        assert reply is not None, f"no answer to {address}"
        if reply[0] in ("/v2m/progress", "/v2m/status", "/v2m/ok") and not (
                reply[0] == "/v2m/ok" and reply[1][:1] == (address,)):
            continue
        return reply
    raise AssertionError(f"no answer to {address}")


# --- item 5: "." and friends ----------------------------------------------------------------------

def test_every_path_request_answers_dot_dotdot_empty_and_folders_with_a_real_error(
        daemon, client, out_dir, tmp_path):
    if not VIDEO.is_file():
        pytest.skip("shared test videos not present")
    client.send("/v2m/video/open", str(VIDEO))
    client.wait_for("/v2m/ready", timeout=120)
    (out_dir / "sub").mkdir(parents=True)
    (out_dir / "folder.mid").mkdir()
    paths = [".", "..", "", "./", "./.", "sub", "sub/", "folder.mid", str(out_dir),
             str(out_dir) + "/.", str(tmp_path), "/", str(VIDEOS)]
    answers = {}

    def ask(address: str, path: str, rest: tuple | None) -> None:
        time.sleep(0.21)  # bad-input errors: at most 5 a second per address
        args = (3, path) if rest is None else (path, *rest)
        client.send(address, *args)
        answers[address, path] = final_reply(client, address)

    for address, rest in PATH_REQUESTS.items():
        if address == "/v2m/live/image":
            continue
        for path in paths:
            if address == "/v2m/match" and path == "":
                continue  # '' asks for the default library
            ask(address, path, rest)
    client.send("/v2m/live/start")  # so /v2m/live/image reaches its path check
    assert client.wait_for("/v2m/ok") == ("/v2m/live/start",)
    for path in paths:
        ask("/v2m/live/image", path, PATH_REQUESTS["/v2m/live/image"])
    client.send("/v2m/live/stop")
    client.wait_for("/v2m/ok")
    assert len(answers) == 4 * len(paths) - 1
    for (address, path), (reply, args) in answers.items():
        assert reply == "/v2m/error" and args[0] == address, (address, path, reply, args)
        assert "internal error" not in args[1], (address, path, args[1])
        if address == "/v2m/video/open" and path in (".", "..", str(tmp_path), "/"):
            assert "is not a regular file" in args[1]
        if address == "/v2m/render" and path in (".", "./", "./.", str(out_dir)):
            assert "names a folder, not a file" in args[1], args[1]
    render_errors = {path: answers["/v2m/render", path][1][1] for path in paths}
    assert "'..' is not allowed" in render_errors[".."]
    assert "no output file name" in render_errors[""]
    assert "a folder" in render_errors["folder.mid"]
    assert "no library folder" in answers["/v2m/match", "."][1][1]
    assert "root of the file system" in answers["/v2m/match", "/"][1][1]  # not a disk-wide index
    assert daemon.session.opened.composition is not None  # nothing lost
    assert sorted(p.name for p in out_dir.iterdir()) == ["folder.mid", "sub"]  # nothing written


def test_render_dot_was_the_fuzz_finding(daemon, client):
    if not VIDEO.is_file():
        pytest.skip("shared test videos not present")
    client.send("/v2m/video/open", str(VIDEO))
    client.wait_for("/v2m/ready", timeout=120)
    client.send("/v2m/render", ".")
    failed, message = client.wait_for("/v2m/error")
    assert failed == "/v2m/render" and "names a folder, not a file" in message, message


# --- item 6: no token, no reflection --------------------------------------------------------------

def test_packets_without_the_token_get_one_limited_reply_to_the_sender_only(chord_model, tmp_path):
    with in_process_daemon(chord_model, output_dir=str(tmp_path), token="s3cret") as daemon:
        listeners = [OscClient(daemon.server.address) for _ in range(3)]
        attacker = OscClient(daemon.server.address)
        fake_now = [1000.0]
        daemon.session.clients.monotonic = lambda: fake_now[0]
        try:
            for number, listener in enumerate(listeners):
                listener.send("/v2m/hello", "s3cret", f"c{number}", listener.port)
                assert listener.wait_for("/v2m/status")
            heard = dict(daemon.session.clients._heard)
            for listener in listeners:
                replies(listener, 0.15)  # drain
            fake_now[0] += 100.0
            for n in range(20):  # the input: 20 token-less packets, 20 addresses
                attacker.send(f"/v2m/nope{n}", 1)
            attacker.send_bundle(*((f"/v2m/nope{n}",) for n in range(10)))
            attacker.send_raw(b"not osc at all")
            attacker.send_raw(b"x" * 9000)  # oversized
            got = replies(attacker, 0.5)
            errors = [r for r in got if r[0] == "/v2m/error"]
            assert 1 <= len(errors) <= UNAUTHENTICATED_ERRORS_PER_SECOND, errors
            assert all("token" in r[1][1] for r in errors[:1])
            for listener in listeners:  # registered clients hear nothing of it (status aside)
                assert replies(listener, 0.2) == []
            assert dict(daemon.session.clients._heard) == heard  # no expiry refreshed
            time.sleep(1.05)  # a new second: the honest user without a token hears why
            attacker.send("/v2m/seed", 3)
            failed, message = attacker.wait_for("/v2m/error")
            assert failed == "/v2m/seed" and "needs its token" in message
            listeners[0].send("/v2m/seed", "s3cret", 3)  # with the token: as before
            assert listeners[0].wait_for("/v2m/ok") == ("/v2m/seed",)
            assert daemon.session.clients._heard["c0"] == fake_now[0]
        finally:
            for client in (*listeners, attacker):
                client.close()


# --- item 7: the least recently heard client goes -------------------------------------------------

def test_a_full_table_drops_the_client_heard_from_least_recently(daemon):
    fake_now = [5000.0]
    clients = daemon.session.clients
    clients.monotonic = lambda: fake_now[0]
    sockets = []
    try:
        for n in range(MAX_CLIENTS + 1):  # each client on a host of its own (127.0.0.0/8)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((f"127.0.0.{10 + n}", 0))
            sock.settimeout(2.0)
            sockets.append(sock)

        def send(n: int, address: str, *args) -> None:
            from v2m_bridge.osc.wire import osc_message

            sockets[n].sendto(osc_message(address, *args).dgram, daemon.server.address)
            sockets[n].recvfrom(65536)  # its answer: the packet was handled

        for n in range(MAX_CLIENTS):
            send(n, "/v2m/hello", f"c{n}", sockets[n].getsockname()[1])
        for _ in range(101):  # c0 keeps sending, c1 (and the rest) stay silent for 101 s
            fake_now[0] += 1.0
            send(0, "/v2m/status")
        send(MAX_CLIENTS, "/v2m/hello", f"c{MAX_CLIENTS}", sockets[MAX_CLIENTS].getsockname()[1])
        registered = daemon.session.clients.registered
        assert len(registered) == MAX_CLIENTS
        assert "c0" in registered and f"c{MAX_CLIENTS}" in registered
        assert "c1" not in registered  # the quietest (registered first of the silent ones)
    finally:
        for sock in sockets:
            sock.close()


# --- small things: serve without a MIDI port names the memory backend ----------------------------

def test_without_alsa_or_jack_serve_names_the_memory_backend(monkeypatch):
    from v2m_bridge.daemon import midi_out
    from v2m_bridge.daemon.midi_out import MidiPortError, open_sink

    class NoPort:
        def __init__(self, api_name, target, client_name) -> None:
            raise MidiPortError(f"cannot start the {api_name} MIDI client: no server")

    monkeypatch.setattr(midi_out, "RtMidiSink", NoPort)
    monkeypatch.setattr(midi_out, "auto_api_names", lambda: ["alsa", "jack"])
    for spec in ("auto", "jack", "alsa"):
        with pytest.raises(MidiPortError, match="--midi-backend memory"):
            open_sink(spec)
    assert open_sink("memory").name == "memory"


def test_follow_answers_an_unknown_clock_with_the_choices(daemon, client):
    """/v2m/transport/follow takes 1, 0 or link (issue 24); anything else is a clear error."""
    client.send("/v2m/transport/follow", "banana")
    failed, message = client.wait_for("/v2m/error")
    assert failed == "/v2m/transport/follow"
    assert "0 or link" in message and "banana" in message
    client.send("/v2m/status")
    assert client.wait_for("/v2m/status")  # still serving
