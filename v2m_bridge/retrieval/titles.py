"""Titles and artists of library pieces, for listings that name songs rather than ids.

* McGill Billboard: ``billboard-2.0-index.csv`` beside the annotation folders (id, title,
  artist); the song folders are the zero-padded ids.
* POP909: ``index.xlsx`` in the ``POP909`` folder (song_id, name, artist). Reading it needs
  openpyxl (``pip install 'v2m-bridge[library]'``); without it POP909 pieces keep their ids. The
  packaged corpora index already holds every title, so ``match`` needs nothing extra.
* MIDI files: the file name (or, for a POP909 song's own ``NNN.mid``, the song's title).
"""

from __future__ import annotations

import csv
import functools
import logging
from pathlib import Path

try:  # optional (the ``library`` extra): only indexing a POP909 folder reads its index.xlsx
    import openpyxl
except ImportError:
    openpyxl = None

log = logging.getLogger(__name__)

BILLBOARD_INDEX = "billboard-2.0-index.csv"
POP909_INDEX = "index.xlsx"
Titles = dict[str, tuple[str, str]]


@functools.lru_cache(maxsize=8)
def billboard_titles(root: Path) -> Titles:
    """``{id without leading zeros: (title, artist)}`` from the Billboard index CSV (empty if
    missing)."""
    path = root / BILLBOARD_INDEX
    if not path.is_file():
        return {}
    titles: Titles = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            title, artist = (row.get("title") or "").strip(), (row.get("artist") or "").strip()
            if title:
                titles[(row.get("id") or "").strip().lstrip("0")] = (title, artist)
    return titles


@functools.lru_cache(maxsize=8)
def pop909_titles(folder: Path) -> Titles:
    """``{"001": (name, artist)}`` from POP909's ``index.xlsx`` in ``folder`` (empty if missing
    or if openpyxl is not installed)."""
    path = folder / POP909_INDEX
    if not path.is_file():
        return {}
    if openpyxl is None:
        log.info("POP909 titles need openpyxl (pip install 'v2m-bridge[library]'); showing ids")
        return {}
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = workbook.active.iter_rows(values_only=True)
        header = [str(v).strip() for v in next(rows, ())]
        if not {"song_id", "name", "artist"} <= set(header):
            return {}
        at = {name: header.index(name) for name in ("song_id", "name", "artist")}
        return {str(row[at["song_id"]]).strip().zfill(3):
                (str(row[at["name"]] or "").strip(), str(row[at["artist"]] or "").strip())
                for row in rows if row and row[at["song_id"]] is not None}
    finally:
        workbook.close()


def midi_title(path: Path) -> tuple[str, str]:
    """A POP909 song's title for its ``NNN/NNN.mid``, else the file name."""
    if path.stem == path.parent.name:
        found = pop909_titles(path.parent.parent).get(path.stem)
        if found:
            return found
    return path.stem, ""
