"""Output paths that fail early and never leave partial files behind."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

from v2m_bridge.errors import V2MError


class OutputPathError(V2MError, ValueError):
    """An output path that cannot or must not be written."""


TEMPORARY_NAME_BYTES = 200  # of the final name kept in a temporary one: room for the tag


def temporary_name(name: str, tag: str, suffix: str = "") -> str:
    """``.NAME.TAG.tmpSUFFIX`` for a temporary file beside ``name``, with ``NAME`` cut to
    :data:`TEMPORARY_NAME_BYTES` *bytes* (file systems count bytes; a name of multibyte
    characters cut by characters can still be too long) and never inside a character."""
    size, kept = 0, len(name)
    for index, character in enumerate(name):
        size += len(os.fsencode(character))
        if size > TEMPORARY_NAME_BYTES:
            kept = index
            break
    return f".{name[:kept]}.{tag}.tmp{suffix}"


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except OSError:
        return False


def check_output_path(path: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (),
                      what: str = "output") -> Path:
    """Check that ``path`` can be written without touching any of ``inputs``.

    Raises:
        OutputPathError: the folder is missing or not writable, the path is a folder, or it is
            one of the inputs.
    """
    target = Path(path).expanduser()
    folder = target.parent.resolve()
    if not folder.is_dir():
        raise OutputPathError(f"{what} {str(target)!r}: folder {str(folder)!r} does not exist; "
                              "create it first or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{what} {str(target)!r}: folder {str(folder)!r} is not writable")
    if target.is_dir():
        raise OutputPathError(f"{what} {str(target)!r} is a folder; give a file name")
    for source in inputs:
        source_path = Path(source).expanduser()
        if target.resolve() == source_path.resolve() or _same_file(target, source_path):
            raise OutputPathError(f"{what} {str(target)!r} would overwrite the input "
                                  f"{str(source_path)!r}; choose another file name")
    return target


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    target = Path(path)
    # Not tempfile.mkstemp: its files are private (0600); this one gets the user's umask,
    # like any file the user writes.
    temp_path = target.with_name(temporary_name(target.stem, secrets.token_hex(6),
                                                target.suffix))
    try:
        os.close(os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as err:
        raise OutputPathError(f"cannot write {str(target)!r}: {err.strerror or err}") from err
    try:
        yield temp_path
        os.replace(temp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()
