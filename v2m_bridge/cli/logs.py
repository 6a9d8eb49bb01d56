"""The command line's logging: every line through tqdm's writer (so a log line never lands in
the middle of a progress bar), ``v2m_bridge`` at INFO (DEBUG with ``-v``) and other libraries
only from WARNING (INFO with ``-v``): pyscenedetect's "Detecting scenes..." and matplotlib's
"generated new fontManager" are not for the user."""

from __future__ import annotations

import logging
import sys

from tqdm import tqdm

FORMAT = "%(levelname)s %(name)s: %(message)s"


class ProgressAwareHandler(logging.Handler):
    """Writes records with :func:`tqdm.write`: open bars are cleared, the line is written,
    and the bars are drawn again below it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


def _ours_or_warning(record: logging.LogRecord) -> bool:
    """Other libraries' INFO is left out by the handler, not by logger levels: some set their
    own logger's level when imported (scenedetect sets INFO), after this ran."""
    return record.levelno >= logging.WARNING or record.name.split(".")[0] == "v2m_bridge"


def setup_logging(verbose: bool = False) -> None:
    """Configure the root logger for a command (once: a second call replaces the first's
    handler; handlers others installed, such as a test runner's, stay)."""
    handler = ProgressAwareHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    if not verbose:
        handler.addFilter(_ours_or_warning)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, ProgressAwareHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("v2m_bridge").setLevel(logging.DEBUG if verbose else logging.INFO)
