"""OSCQuery: the daemon describes its OSC addresses over HTTP (JSON) and advertises them over
mDNS (``_oscjson._tcp``); bad HTTP never reaches the OSC thread."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time

import pytest
from live_helpers import OscClient, in_process_daemon
from test_protocol import readme_osc_section, readme_rows

from v2m_bridge.daemon import discovery
from v2m_bridge.osc import oscquery, protocol


@pytest.fixture
def daemon(chord_model, tmp_path):
    with in_process_daemon(chord_model, output_dir=str(tmp_path), discovery=True) as daemon:
        yield daemon


def get(daemon, target: str, method: str = "GET", headers: dict | None = None
        ) -> tuple[int, str]:
    connection = http.client.HTTPConnection(daemon.discovery.host, daemon.discovery.port,
                                            timeout=5)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def nodes(tree: dict) -> dict[str, dict]:
    """Every method node (one without CONTENTS) by its full path."""
    found = {}
    for node in tree.get("CONTENTS", {}).values():
        if "CONTENTS" in node:
            found.update(nodes(node))
        else:
            found[node["FULL_PATH"]] = node
    return found


def readme_type_tags(usage: str) -> str:
    """``/v2m/video/open s:path [f:timeline_offset] [s:tempo]`` -> ``sfs``."""
    return "".join(re.findall(r"(?<![\w:])([sif]):\w", usage))


def test_get_root_lists_every_readme_address_with_its_type_tags(daemon):
    status, body = get(daemon, "/")
    assert status == 200
    methods = nodes(json.loads(body))
    rows = readme_rows()
    assert set(rows) <= set(methods), f"missing: {sorted(set(rows) - set(methods))}"
    for address, (usage, _reply) in rows.items():
        tags = readme_type_tags(usage)
        node = methods[address]
        assert node.get("TYPE", "") == tags, (address, node.get("TYPE"), usage)
        assert node["DESCRIPTION"]
        assert node["ACCESS"] in (0, 2, 3) and (node["ACCESS"] == 0) == (tags == "")
    # Reaper's feedback addresses, as the README names them, are there too
    section = readme_osc_section()
    paragraph = section[section.index("The daemon also follows Reaper"):]
    for address in re.findall(r"`(/[a-z/]+)(?: f)?`", paragraph[:paragraph.index("\n\n")]):
        assert address in methods
    assert set(methods) == set(protocol.MESSAGES)


def test_containers_hold_their_full_paths(daemon):
    tree = json.loads(get(daemon, "/")[1])
    transport = tree["CONTENTS"]["v2m"]["CONTENTS"]["transport"]
    assert transport["FULL_PATH"] == "/v2m/transport"
    assert transport["CONTENTS"]["play"]["TYPE"] == "ff"
    assert transport["CONTENTS"]["play"]["RANGE"][1] == {"MIN": 0.0, "MAX": 16.0}


def test_host_info_names_the_osc_endpoint(daemon):
    status, body = get(daemon, "/?HOST_INFO")
    info = json.loads(body)
    assert status == 200
    assert info["OSC_PORT"] == daemon.server.address[1]
    assert info["OSC_IP"] == "127.0.0.1" and info["OSC_TRANSPORT"] == "UDP"
    assert info["EXTENSIONS"]["VALUE"] and info["EXTENSIONS"]["RANGE"]


def test_values_follow_the_settings_sent_over_osc(daemon):
    client = OscClient(daemon.server.address)
    try:
        client.send("/v2m/key", "D minor")
        assert client.wait_for("/v2m/ok") == ("/v2m/key",)
        client.send("/v2m/emotion", "tense")
        client.wait_for("/v2m/ok")
        client.send("/v2m/seed", 7)
        client.wait_for("/v2m/ok")
        assert json.loads(get(daemon, "/v2m/tempo?VALUE")[1]) == {"VALUE": ["auto"]}  # default
        client.send("/v2m/tempo", 96)  # an int, as Max sends it
        client.wait_for("/v2m/ok")
    finally:
        client.close()
    assert json.loads(get(daemon, "/v2m/key?VALUE")[1]) == {"VALUE": ["D minor"]}
    assert json.loads(get(daemon, "/v2m/emotion?VALUE")[1]) == {"VALUE": ["tense"]}
    assert json.loads(get(daemon, "/v2m/seed?VALUE")[1]) == {"VALUE": [7]}
    assert json.loads(get(daemon, "/v2m/tempo?VALUE")[1]) == {"VALUE": ["96"]}
    assert json.loads(get(daemon, "/v2m/transport/follow")[1])["VALUE"] == [1]


def test_every_listed_range_names_a_real_argument():
    for address, name in oscquery.ARGUMENT_RANGES:
        assert address in protocol.MESSAGES, address
        assert name in [arg.name for arg in protocol.MESSAGES[address].args], (address, name)
    for address in oscquery.VALUE_ADDRESSES:
        assert protocol.MESSAGES[address].args, address


def test_bad_requests_get_clear_errors(daemon):
    status, body = get(daemon, "/v2m/nothing")
    assert status == 404 and "/v2m/nothing" in body
    status, body = get(daemon, "/v2m/key?COLOUR")
    assert status == 400 and "COLOUR" in body
    assert get(daemon, "/v2m/panic?VALUE")[0] == 204  # a method without a value
    assert get(daemon, "/", method="POST")[0] == 405
    assert get(daemon, "/", headers={"X-Huge": "x" * 70000})[0] == 431
    assert get(daemon, "/", headers={f"X-{i}": "1" for i in range(150)})[0] == 431
    assert get(daemon, "/" + "a" * 70000)[0] == 414
    assert get(daemon, "/")[0] == 200  # and it still answers


def test_slow_clients_never_block_the_osc_thread(daemon, monkeypatch):
    monkeypatch.setattr(discovery._Handler, "timeout", 1.0)
    slow = []
    for _ in range(discovery.MAX_CONNECTIONS + 4):  # more than it serves at once
        sock = socket.create_connection((daemon.discovery.host, daemon.discovery.port))
        sock.sendall(b"GET / HT")  # and never the rest
        slow.append(sock)
    try:
        client = OscClient(daemon.server.address)
        started = time.monotonic()
        client.send("/v2m/status")
        assert client.wait_for("/v2m/status", timeout=2.0)
        assert time.monotonic() - started < 0.5
        client.close()
        # the ones beyond the limit were told at once
        slow[-1].settimeout(2.0)
        assert slow[-1].recv(200).startswith(b"HTTP/1.0 503")
        # the others are timed out with a 408
        slow[0].settimeout(3.0)
        assert b" 408 " in slow[0].recv(200)
    finally:
        for sock in slow:
            sock.close()
    deadline = time.monotonic() + 3
    while get(daemon, "/")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert get(daemon, "/")[0] == 200


def test_a_zeroconf_browser_finds_the_service(daemon):
    zeroconf = pytest.importorskip("zeroconf")
    names: list[str] = []

    class Listener(zeroconf.ServiceListener):
        def add_service(self, zc, type_, name):
            names.append(name)

        def update_service(self, zc, type_, name):
            pass

        def remove_service(self, zc, type_, name):
            pass

    browser = zeroconf.Zeroconf(interfaces=["127.0.0.1"], ip_version=zeroconf.IPVersion.V4Only)
    watch = zeroconf.ServiceBrowser(browser, discovery.SERVICE_TYPE, Listener())
    try:
        ours = None
        deadline = time.monotonic() + 10
        while ours is None and time.monotonic() < deadline:
            time.sleep(0.2)
            for name in list(names):
                info = browser.get_service_info(discovery.SERVICE_TYPE, name, 1000)
                if info is not None and info.port == daemon.discovery.port:
                    ours = info
        assert ours is not None, f"no _oscjson._tcp service for the daemon among {names}"
        assert socket.inet_ntoa(ours.addresses[0]) == "127.0.0.1"
    finally:
        watch.cancel()
        browser.close()


def test_no_discovery_serves_nothing(chord_model, tmp_path):
    with in_process_daemon(chord_model, output_dir=str(tmp_path), discovery=False) as daemon:
        assert daemon.discovery is None
        host, port = daemon.server.address
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=1).close()


def test_a_daemon_closed_before_it_started_does_not_wait_for_its_http_server():
    from v2m_bridge.daemon.app import Daemon, DaemonConfig
    from v2m_bridge.daemon.midi_out import MemorySink

    daemon = Daemon(DaemonConfig(port=0), backend=None, sink=MemorySink())
    started = time.monotonic()
    daemon.close()
    assert time.monotonic() - started < 2.0
