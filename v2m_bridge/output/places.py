"""Where the daemon may write, and writing there without following anything out of it.

A request over OSC names a file; any local process can send one. So the daemon writes only:

* inside its output folder (``serve --output-dir``, default :func:`default_output_dir`: a
  ``v2m-bridge`` folder in the user's data directory), where relative names go;
* or inside the opened video's folder (and folders below it);
* and only files named ``*.mid`` or ``*.midi``.

It never follows ``..`` (refused), never expands ``~`` (refused), and never goes through a
symbolic link: every folder below the allowed one is opened with ``O_NOFOLLOW`` relative to the
previous one, and the file is created and renamed relative to the last, so nothing can be swapped
in between the check and the write. It replaces only a regular file that this daemon wrote,
unless asked to overwrite (and then still only a regular file, never the video itself); a
symbolic link, a FIFO, a device or a folder at the name is refused. Names longer than the file
system allows get a clear error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import platformdirs

from v2m_bridge.errors import V2MError
from v2m_bridge.output.paths import temporary_name

APP_NAME = "v2m-bridge"
MIDI_SUFFIXES = (".mid", ".midi")  # what the daemon writes; nothing else can be named
NAME_MAX_BYTES = 255  # when the file system does not say (pathconf)
PATH_MAX_BYTES = 4096
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISSOCK, "a socket"))


class OutputPlaceError(V2MError, ValueError):
    """A file name the daemon must not or cannot write."""


def default_output_dir() -> Path:
    """``v2m-bridge`` in the user's data directory (e.g. ``~/.local/share/v2m-bridge``)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def check_name_lengths(path: str, what: str = "path") -> None:
    """Raise a clear error for a path or a path component the file system cannot hold."""
    encoded = os.fsencode(path)
    if len(encoded) > PATH_MAX_BYTES:
        raise OutputPlaceError(f"{what} is {len(encoded)} bytes long; the limit is "
                               f"{PATH_MAX_BYTES}")
    for part in Path(path).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX_BYTES:
            raise OutputPlaceError(f"{what}: the name {part[:40]!r}... is {size} bytes long; "
                                   f"file names can have at most {NAME_MAX_BYTES}")


def check_input_file(path: str, what: str = "file") -> Path:
    """``path`` as an existing regular file (symbolic links to one are fine for reading), or a
    clear error: missing, not a file, too long, unreadable."""
    if not path:
        raise OutputPlaceError(f"no {what} path given (an absolute path is expected)")
    check_name_lengths(path, f"{what} path")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise OutputPlaceError(f"no {what} at {path!r} (an absolute path is expected)") from None
    except OSError as err:
        raise OutputPlaceError(f"cannot use {what} {path!r}: {err.strerror or err}") from None
    if not stat.S_ISREG(info.st_mode):
        raise OutputPlaceError(f"{what} {path!r} is not a regular file")
    return Path(path)


@dataclass(frozen=True)
class _Target:
    root: str  # the allowed folder, resolved
    folders: tuple[str, ...]  # below the root
    name: str

    @property
    def path(self) -> Path:
        return Path(self.root, *self.folders, self.name)


class OutputPlaces:
    """The daemon's rule for where files go; :meth:`open` writes one safely."""

    def __init__(self, output_dir: str | os.PathLike | None = None,
                 suffixes: tuple[str, ...] = MIDI_SUFFIXES) -> None:
        self.suffixes = suffixes
        folder = Path(output_dir) if output_dir is not None else default_output_dir()
        if output_dir is not None and str(output_dir).startswith("~"):
            folder = folder.expanduser()  # given on the command line: the user's own ~
        if folder.exists() and not folder.is_dir():
            raise OutputPlaceError(f"the output folder {str(folder)!r} is not a folder")
        self.output_dir = folder.resolve()  # created by the first write that goes there
        self._written: dict[tuple[int, int], tuple[int, int]] = {}  # (dev, ino) -> size, mtime
        self._lock = threading.Lock()

    def describe(self, video: str | None) -> str:
        places = [str(self.output_dir)]
        if video:
            places.append(f"{Path(video).parent} (the opened video's folder)")
        return " or ".join(places)

    def resolve(self, requested: str, video: str | None = None) -> Path:
        """Where ``requested`` would be written (checks the name, not the disk)."""
        return self._target(requested, video).path

    def _target(self, requested: str, video: str | None) -> _Target:
        target = self._place(requested, video)
        if not target.name.lower().endswith(self.suffixes):
            raise OutputPlaceError(f"{target.name[:60]!r}: output file names end in "
                                   f"{' or '.join(self.suffixes)}")
        return target

    def _place(self, requested: str, video: str | None) -> _Target:
        if not requested or not requested.strip():
            raise OutputPlaceError("no output file name given")
        if "\0" in requested:
            raise OutputPlaceError("an output file name cannot contain NUL")
        if requested.startswith("~"):
            raise OutputPlaceError(f"{requested[:60]!r}: '~' is not expanded; give a name in "
                                   f"{self.describe(video)}, or an absolute path there")
        check_name_lengths(requested, "output path")
        parts = Path(requested).parts
        if ".." in parts:
            raise OutputPlaceError(f"{requested[:60]!r}: '..' is not allowed in output paths")
        if not Path(requested).is_absolute():
            if not parts:  # ".", "./", "./." name the output folder itself
                raise self._folder_named(requested, video)
            *folders, name = parts
            return _Target(str(self.output_dir), tuple(folders), name)
        for root in self._roots(video):
            for spelling in {root, Path(os.path.realpath(root))}:
                try:
                    relative = Path(os.path.normpath(requested)).relative_to(spelling)
                except ValueError:
                    continue
                if not relative.parts:
                    raise self._folder_named(requested, video)
                *folders, name = relative.parts
                return _Target(os.path.realpath(root), tuple(folders), name)
        raise OutputPlaceError(f"{requested[:80]!r} is outside the folders the daemon writes "
                               f"to: {self.describe(video)} (serve --output-dir chooses the "
                               "first)")

    def _folder_named(self, requested: str, video: str | None) -> OutputPlaceError:
        return OutputPlaceError(f"{requested[:60]!r} names a folder, not a file; give a file "
                                f"name ending in {' or '.join(self.suffixes)} in "
                                f"{self.describe(video)}")

    def _roots(self, video: str | None) -> list[Path]:
        roots = [self.output_dir]
        if video:
            roots.append(Path(os.path.abspath(video)).parent)
        return roots

    @contextlib.contextmanager
    def open(self, requested: str, video: str | None = None, *, overwrite: bool = False
             ) -> Iterator[tuple[BinaryIO, Path]]:
        """A new file to write; it replaces ``requested`` only when the block succeeds.

        Yields ``(binary file, final path)``. Nothing is left behind on failure.
        """
        target = self._target(requested, video)
        if target.root == str(self.output_dir):
            try:
                self.output_dir.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise OutputPlaceError(f"cannot create the output folder "
                                       f"{str(self.output_dir)!r}: {err.strerror or err}") from err
        folder = _open_folder(target)
        try:
            self._check_existing(target, folder, video, overwrite)
            temporary = temporary_name(target.name, secrets.token_hex(6))
            try:
                fd = folder.create(temporary)
            except OSError as err:
                raise OutputPlaceError(f"cannot write in {str(target.path.parent)!r}: "
                                       f"{err.strerror or err}") from err
            try:
                with os.fdopen(fd, "wb") as handle:
                    yield handle, target.path
                    handle.flush()
                    written = os.fstat(handle.fileno())
                # checked again just before the rename: a name that became a link or a FIFO in
                # the meantime is still not replaced
                self._check_existing(target, folder, video, overwrite)
                folder.replace(temporary, target.name)
                temporary = ""
                with self._lock:
                    self._written[(written.st_dev, written.st_ino)] = (
                        written.st_size, written.st_mtime_ns)
            finally:
                if temporary:
                    with contextlib.suppress(OSError):
                        folder.unlink(temporary)
        finally:
            folder.close()

    def _check_existing(self, target: _Target, folder: _Folder, video: str | None,
                        overwrite: bool) -> None:
        try:
            info = folder.stat(target.name)
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno == errno.ENAMETOOLONG:
                raise OutputPlaceError(f"the file name {target.name[:40]!r}... is too long for "
                                       "this file system") from None
            raise OutputPlaceError(f"cannot check {str(target.path)!r}: "
                                   f"{err.strerror or err}") from None
        for test, kind in _KINDS:
            if test(info.st_mode):
                raise OutputPlaceError(f"{str(target.path)!r} is {kind}; the daemon replaces "
                                       "only regular files")
        if not stat.S_ISREG(info.st_mode):
            raise OutputPlaceError(f"{str(target.path)!r} is not a regular file")
        if video:
            with contextlib.suppress(OSError):
                if os.path.samefile(video, target.path):
                    raise OutputPlaceError(f"{str(target.path)!r} is the opened video; choose "
                                           "another file name")
        if overwrite:
            return
        with self._lock:
            ours = self._written.get((info.st_dev, info.st_ino)) == (info.st_size,
                                                                      info.st_mtime_ns)
        if not ours:
            raise OutputPlaceError(f"{str(target.path)!r} already exists and was not written by "
                                   "this daemon; choose another name, or add 1 after the name "
                                   "to overwrite it")


# Where the OS lets names be opened relative to a folder descriptor (POSIX), folders are opened
# one below the other with O_NOFOLLOW; elsewhere (Windows) each folder is checked with lstat.
_DIR_FD = {os.open, os.stat, os.rename, os.unlink} <= os.supports_dir_fd


class _Folder:
    """The folder a file goes in: names are stat'ed, created, renamed and removed in it without
    following links, through a descriptor where the OS has them, else by path."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self.fd = path, fd

    def stat(self, name: str) -> os.stat_result:
        if self.fd is not None:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        return os.lstat(self.path / name)

    def create(self, name: str) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | getattr(os, "O_BINARY", 0)
        if self.fd is not None:
            return os.open(name, flags, 0o666, dir_fd=self.fd)
        return os.open(self.path / name, flags, 0o666)

    def replace(self, source: str, target: str) -> None:
        if self.fd is not None:
            os.replace(source, target, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        else:
            os.replace(self.path / source, self.path / target)

    def unlink(self, name: str) -> None:
        if self.fd is not None:
            os.unlink(name, dir_fd=self.fd)
        else:
            os.unlink(self.path / name)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _folder_problem(shown: str, err: OSError) -> OutputPlaceError:
    if err.errno == errno.ENOENT:
        reason = "does not exist; create it first or choose another path"
    elif err.errno in (errno.ELOOP, errno.ENOTDIR):
        reason = "is a symbolic link or not a folder; it is not followed"
    elif err.errno == errno.ENAMETOOLONG:
        reason = "has too long a name"
    else:
        reason = f"cannot be opened ({err.strerror or err})"
    return OutputPlaceError(f"folder {shown!r} {reason}")


def _open_folder(target: _Target) -> _Folder:
    """The folder the file goes in, reached without following any link below the root."""
    folders = [folder for folder in target.folders if folder not in ("", ".")]
    if not _DIR_FD:
        path = Path(target.root)
        for index, folder in enumerate(folders):
            path = path / folder
            try:
                info = os.lstat(path)
            except OSError as err:
                raise _folder_problem(str(path), err) from None
            reparse = getattr(info, "st_file_attributes", 0) & getattr(
                stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0)
            if stat.S_ISLNK(info.st_mode) or reparse or not stat.S_ISDIR(info.st_mode):
                raise _folder_problem(str(Path(target.root, *folders[:index + 1])),
                                      OSError(errno.ELOOP, "a link or not a folder"))
        return _Folder(path, None)
    try:
        fd = os.open(target.root, os.O_RDONLY | _O_DIRECTORY)
    except OSError as err:
        raise OutputPlaceError(f"cannot open the folder {target.root!r}: "
                               f"{err.strerror or err}") from err
    try:
        for index, folder in enumerate(folders):
            try:
                next_fd = os.open(folder, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=fd)
            except OSError as err:
                raise _folder_problem(str(Path(target.root, *folders[:index + 1])),
                                      err) from None
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return _Folder(Path(target.root, *folders), fd)
