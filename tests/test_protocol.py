"""The OSC protocol table (v2m_bridge/osc/protocol.py) against the README, the daemon's routes and
the client's expected replies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from v2m_bridge.daemon.routes import build_routes
from v2m_bridge.osc import protocol
from v2m_bridge.osc.client import expected_reply

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"^\| `(?P<usage>/[^`]+)` \| (?P<reply>.*) \|$")


def readme_osc_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## OSC interface")
    return text[start:text.index("\n## ", start + 1)]


def readme_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in readme_osc_section().splitlines():
        match = ROW.match(line)
        if match:
            address = match["usage"].split()[0]
            assert address not in rows, f"{address} is in the README's OSC table twice"
            rows[address] = (match["usage"], match["reply"])
    return rows


def test_the_readme_osc_table_lists_every_request_as_the_protocol_does():
    rows = readme_rows()
    expected = {m.address: (m.usage, m.reply_text) for m in protocol.REQUESTS}
    assert set(rows) == set(expected), "README and protocol.py list different requests"
    for address, row in expected.items():
        assert rows[address] == row, f"README row for {address} differs from protocol.py"
    assert list(rows) == list(expected), "README rows are not in the protocol's order"


def test_the_readme_names_every_reaper_feedback_address():
    section = readme_osc_section()
    paragraph = section[section.index("The daemon also follows Reaper"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    named = re.findall(r"`(/[a-z/]+)(?: f)?`", paragraph)
    assert named == [m.address for m in protocol.REAPER_FEEDBACK]


def test_signatures_follow_the_arguments():
    # issue 13: an optional tempo after the offset
    assert protocol.MESSAGES["/v2m/video/open"].signatures == ("s", "sf", "sfs", "sff")
    # issue 21: a tempo as text or as a number (Max and liblo send numbers)
    assert protocol.MESSAGES["/v2m/tempo"].signatures == ("s", "f")
    assert protocol.MESSAGES["/v2m/live/start"].signatures == ("", "f", "ff")
    assert protocol.MESSAGES["/play"].signatures == ("", "f")
    assert [len(s) for s in protocol.MESSAGES["/v2m/live/frame"].signatures] == [7, 13, 775, 781]


def test_every_request_has_the_reply_the_client_waits_for():
    for message in protocol.REQUESTS:
        assert expected_reply(message.address) == (message.reply or protocol.OK)
    for message in protocol.REAPER_FEEDBACK:
        assert expected_reply(message.address) is None


def test_routes_must_cover_the_protocol_exactly():
    handlers = {address: (lambda request: None) for address in protocol.MESSAGES}
    routes = build_routes(handlers, lambda *args: None)
    assert set(routes) == set(protocol.MESSAGES)
    with pytest.raises(AssertionError, match="no handler for"):
        build_routes({**handlers, "/v2m/extra": lambda request: None}, lambda *args: None)
    del handlers["/v2m/panic"]
    with pytest.raises(AssertionError, match="/v2m/panic"):
        build_routes(handlers, lambda *args: None)


def test_send_help_lists_every_request():
    from v2m_bridge.cli.send import _epilog

    text = _epilog()
    for message in protocol.REQUESTS:
        assert message.usage in text
