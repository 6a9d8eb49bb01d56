"""Issue 25: log lines and progress bars do not interleave on the terminal, and third-party INFO
(pyscenedetect, matplotlib's font cache) stays out of the user's way."""

from __future__ import annotations

import io
import logging

import pytest
from tqdm import tqdm

from v2m_bridge.cli.logs import ProgressAwareHandler, setup_logging


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """A terminal in place of stderr (patched when the test body runs: pytest swaps stderr
    for its own capture between fixture set-up and the test)."""
    screen = Terminal()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogger("v2m_bridge").level)
    yield screen
    for handler in [h for h in root.handlers if isinstance(h, ProgressAwareHandler)]:
        root.removeHandler(handler)
    root.setLevel(saved[0])
    logging.getLogger("v2m_bridge").setLevel(saved[2])


def visible_lines(screen: str) -> list[str]:
    """What a terminal shows on each line: the text after the last carriage return."""
    return [line.split("\r")[-1] for line in screen.split("\n")]


def test_a_log_line_during_a_progress_bar_starts_its_own_line(terminal, monkeypatch):
    monkeypatch.setattr("sys.stderr", terminal)
    setup_logging(verbose=False)
    bar = tqdm(total=10, desc="hash", file=terminal, mininterval=0, leave=False)
    bar.update(1)
    logging.getLogger("v2m_bridge.video.analyze").info("analysing the video")
    logging.getLogger("v2m_bridge.video.cache").warning("cache is full")
    bar.update(1)
    bar.close()
    lines = visible_lines(terminal.getvalue())
    assert "INFO v2m_bridge.video.analyze: analysing the video" in lines
    assert "WARNING v2m_bridge.video.cache: cache is full" in lines


def test_third_party_info_is_silent_unless_verbose(terminal, monkeypatch):
    monkeypatch.setattr("sys.stderr", terminal)
    setup_logging(verbose=False)
    logging.getLogger("pyscenedetect").info("Detecting scenes...")
    logging.getLogger("matplotlib.font_manager").info("generated new fontManager")
    logging.getLogger("pyscenedetect").warning("a real problem")
    logging.getLogger("v2m_bridge.serve").info("MIDI out: memory")
    logging.getLogger("v2m_bridge.serve").debug("details")
    text = terminal.getvalue()
    assert "Detecting scenes" not in text and "fontManager" not in text
    assert "a real problem" in text and "MIDI out: memory" in text and "details" not in text
    setup_logging(verbose=True)
    logging.getLogger("v2m_bridge.serve").debug("details")
    logging.getLogger("pyscenedetect").info("Detecting scenes...")
    text = terminal.getvalue()
    assert "details" in text and "Detecting scenes" in text
    ours = [h for h in logging.getLogger().handlers if isinstance(h, ProgressAwareHandler)]
    assert len(ours) == 1  # the second call replaced the first's handler
