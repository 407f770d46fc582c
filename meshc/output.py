"""Write command output (`-o FILE`): atomically to a regular file, directly to a special file, never through a link.

Also `Spool`, where output waits, out of memory, until it may be written.

- A regular file (or a new one) is written atomically: a temporary file in the same folder, synced,
  then renamed over the target, so readers see the old file or the new one, never a part. A file
  that existed keeps its permission bits; a new one gets 0666 minus the umask.
- A special file (a terminal, a pipe, `/dev/null`, `/dev/stdout`, `/dev/fd/N`) is opened and
  written as it is: never replaced by a regular file, its mode never touched.
- A symbolic link is refused (exit 2): a pull request can commit `out.yaml -> ~/.bashrc`, and
  following it would let the pull request choose what meshc overwrites. Give the link's target
  instead. Only the last component is checked: folders on the way may be links.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO


class OutputError(Exception):
    """The output file cannot be written; the CLI reports it and exits with code 2."""


def is_special(path: str | Path) -> bool:
    """Whether `path` names a special file (after links): written in place, never replaced.

    `/dev/stdout`, `/dev/stderr` and `/dev/fd/N` count when they exist, whatever they point to:
    with `> file` they lead to a regular file, which the shell opened and owns.
    """
    text = os.fspath(path)
    if text in ("/dev/stdout", "/dev/stderr") or text.startswith(("/dev/fd/", "/proc/self/fd/")):
        return os.path.exists(text)
    try:
        mode = os.stat(text).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def write_atomic(path: str | Path, text: str | Iterable[str]) -> None:
    """Write text (or its pieces, in order) to path: in place for a special file, else atomically; a link is refused.

    On any error, even midway through the pieces, the temporary file is removed and an existing
    file is left untouched.
    """
    pieces = [text] if isinstance(text, str) else text
    target = Path(path)
    if is_special(target):
        _write_special(target, pieces)
        return
    if target.is_symlink():
        raise OutputError(
            f"cannot write `{path}`: it is a symbolic link (to `{os.readlink(target)}`); meshc does not write "
            "through links: remove it or give the file it points to"
        )
    folder = target.parent if str(target.parent) else Path()
    if not folder.is_dir():
        raise OutputError(f"cannot write `{path}`: folder `{folder}` does not exist")
    if target.is_dir():
        raise OutputError(f"cannot write `{path}`: it is a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write `{path}`: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for piece in pieces:
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))  # the temporary file is ours: its mode is ours to set
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write `{path}`: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_special(target: Path, pieces: Iterable[str]) -> None:
    """Write to a special file as it is: no temporary file, no rename, no chmod, no truncation.

    O_APPEND keeps `-o /dev/stdout >> log` appending (a new open of /dev/stdout starts at offset 0).
    """
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise OutputError(f"cannot write `{target}`: {exc.strerror}") from None
    try:
        for piece in pieces:
            view = memoryview(piece.encode("utf-8"))
            while view:
                written = os.write(fd, view)
                view = view[written:]
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write `{target}`: {exc.strerror}") from None
    finally:
        os.close(fd)


def _mode_for(target: Path) -> int:
    """An existing file's permission bits (never its set-id or sticky bits); new files: 0666 minus the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class Spool:
    """Text given in pieces and read back in pieces: in memory, then in an anonymous temporary file.

    Up to `limit` characters stay in memory; the rest goes to a file the system removes when it is
    closed or meshc exits. `meshc compile` renders into one while it collects the diagnostics that
    decide whether anything is written (3,000 services: 21 MB of Envoy bootstrap, which would
    otherwise wait in memory).
    When no temporary file can be made or written, the text stays in memory: a full or read-only
    temporary folder never fails a command that did not need one before.
    """

    def __init__(self, limit: int = 1 << 20) -> None:
        self._pieces: list[str] = []
        self._size = 0
        self._limit = limit
        self._file: IO[bytes] | None = None

    def write(self, piece: str) -> None:
        """Add `piece` at the end."""
        if self._file is not None:
            self._write_file(piece)
            return
        self._pieces.append(piece)
        self._size += len(piece)
        if self._size > self._limit:
            try:
                self._file = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115 (kept open: read back later)
            except OSError:
                self._limit = sys.maxsize
                return
            held, self._pieces = self._pieces, []
            for piece in held:
                if self._file is None:
                    self._pieces.append(piece)
                else:
                    self._write_file(piece)

    def _write_file(self, piece: str) -> None:
        assert self._file is not None
        data = memoryview(piece.encode("utf-8"))
        try:
            while data:
                data = data[os.write(self._file.fileno(), data) :]
        except OSError:
            # Back to memory: what the file holds, then what it did not take.
            self._file.seek(0)
            held = self._file.read() + bytes(data)
            self._file.close()
            self._file = None
            self._limit = sys.maxsize
            self._pieces = [held.decode("utf-8")]

    def pieces(self, size: int = 1 << 20) -> Iterator[str]:
        """The text, in pieces of about `size` characters."""
        if self._file is None:
            yield from self._pieces
            return
        self._file.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        while block := self._file.read(size):
            text = decoder.decode(block)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail
