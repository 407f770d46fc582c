"""Which files meshc reads and how: folders, symlinks, special files, the size limit, empty input.

The rules (README, "What meshc reads"), written for a pull request whose author controls the files:

* Folders are searched recursively for `.yaml`, `.yml` and `.json` files; hidden folders are skipped.
* Only regular files are read from a folder. A FIFO, device or socket there (or a file of /proc or
  /sys reached through a symlink) is skipped with a warning; named on the command line it is an
  error (exit 2), except a pipe (`<(helm template ...)`, a named FIFO), which is read as a stream,
  and `/dev/null`, which is empty input.
* A symlink inside a folder is followed only when its target stays inside that folder (a symlinked
  folder there is walked); one that leads outside, or in a loop, is skipped with a warning. A
  symlink named on the command line is followed (the user chose it), except to a special file.
* No file, pipe or standard input may be larger than `max_bytes` (64 MiB; `--max-file-size`).
* Input that holds no YAML document at all is refused by the commands (`survey`).
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

YAML_SUFFIXES = (".yaml", ".yml", ".json")

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
max_bytes = DEFAULT_MAX_BYTES
"""The size limit of one input (a file, a pipe, standard input); `--max-file-size` sets it."""

_PSEUDO_ROOTS = ("/proc", "/sys")
"""Kernel file systems: their files look regular (and empty) but hold process state and secrets."""

_piped: dict[str, bytes] = {}
"""Pipes named on the command line, read once by `survey`, kept for the loader (a pipe reads once)."""


class InputError(Exception):
    """Input that cannot be read as asked: the commands print it as one line and exit with code 2."""


def parse_size(text: str) -> int:
    """`1000`, `64K`, `64M`, `1G` (powers of 1024; `KB`, `MiB` and lowercase accepted) as bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if m is None or int(m.group(1)) == 0:
        raise InputError(f"`{text}` is not a size (a number of bytes, or with K, M or G: `100M`)")
    return int(m.group(1)) * 1024 ** " kmg".index(m.group(2).lower() or " ")


def show_size(n: int) -> str:
    """A size as people write it: `64 MiB`, `512 KiB`, `1000 bytes`."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} bytes"


def _too_large(display: str) -> InputError:
    return InputError(
        f"`{display}` is larger than {show_size(max_bytes)}, the size limit of an input; "
        "raise it with --max-file-size if the file is really that large"
    )


# --- what a path is ----------------------------------------------------------------------------------


def kind_of(path: str) -> str:
    """What `path` leads to: `file`, `dir`, `pipe`, `device`, `socket`, `pseudo` (/proc, /sys), `loop` or `missing`."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return "loop" if exc.errno == errno.ELOOP else "missing"
    except ValueError:  # a NUL in the name
        return "missing"
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "pseudo" if _pseudo(path) else "file"
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def _pseudo(path: str) -> bool:
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root + os.sep) for root in _PSEUDO_ROOTS)


_KINDS = {
    "pipe": "a FIFO",
    "device": "a device",
    "socket": "a socket",
    "pseudo": "a file of the kernel's /proc or /sys",
    "loop": "a symlink loop",
    "missing": "a symlink to nothing",
}


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _is_devnull(path: str) -> bool:
    try:
        return os.path.samefile(path, os.devnull)
    except OSError:
        return False


# --- folders and symlinks ----------------------------------------------------------------------------


def expand_paths(
    paths: Iterable[str],
    onerror: Callable[[OSError], None] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> Iterator[tuple[str, Path | None]]:
    """Turn command-line paths into (display path, file) pairs; folders are walked recursively.

    `-` means standard input (file None). Files inside folders are filtered by suffix and sorted,
    with the rules of this module's docstring; `on_skip(display, why)` hears of each file skipped.
    A path that does not exist is yielded as is so that the reader reports it. `onerror` is
    called with the OSError of a folder that cannot be listed (by default the folder is skipped).
    """
    seen: set[str] = set()  # a file named twice (`deploy/ deploy/vs.yaml`) is read once

    def first(f: str) -> bool:
        key = os.path.realpath(f)
        if key in seen:
            return False
        seen.add(key)
        return True

    for given in paths:
        if given == "-":
            yield "-", None
            continue
        kind = kind_of(given)
        if kind == "dir":
            found: list[str] = []
            real = os.path.realpath(given)
            walk = _Walk(real, given, found, {real}, onerror, on_skip)
            _walk(given, walk, (real,))
            while walk.linked:  # symlinked folders last: a file is shown under its own folder's name
                path, target, ancestors = walk.linked.pop(0)
                if target not in walk.walked:
                    walk.walked.add(target)
                    _walk(path, walk, ancestors)
            for f in sorted(found, key=Path):
                if first(f):
                    yield f, Path(f)
            continue
        if kind in ("device", "socket", "pseudo") and os.path.islink(given) and not _is_devnull(given):
            if on_skip is not None:
                on_skip(given, f"a symlink to {_KINDS[kind]} (`{os.readlink(given)}`)")
            continue
        if first(given):
            yield given, Path(given)


class _Walk(msgspec.Struct):
    """One folder named on the command line, being walked."""

    root: str
    """Its real path: symlinks are followed only to targets inside it."""
    top: str
    """Its name as given."""
    found: list[str]
    walked: set[str]
    """Real paths of the folders walked so far (each is walked once more at most, through a symlink)."""
    onerror: Callable[[OSError], None] | None
    on_skip: Callable[[str, str], None] | None
    linked: list[tuple[str, str, tuple[str, ...]]] = msgspec.field(default_factory=list)
    """Symlinked folders found inside, walked after the real ones: (path, real path, ancestors)."""

    def skip(self, path: str, why: str) -> None:
        if self.on_skip is not None:
            self.on_skip(path, why)


def _walk(folder: str, walk: _Walk, ancestors: tuple[str, ...]) -> None:
    """Collect the YAML files under `folder` (shown as given; `ancestors`: the real paths walked to it)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        if walk.onerror is not None:
            walk.onerror(exc)
        return
    for entry in entries:
        path = str(Path(folder, entry.name))  # as os.walk + Path wrote it: `./x.yaml` is shown `x.yaml`
        yaml_name = entry.name.lower().endswith(YAML_SUFFIXES)
        try:
            link = entry.is_symlink()
            kind = kind_of(path) if link else _entry_kind(entry)
        except OSError:
            kind, link = "missing", False
        if kind == "dir":
            if entry.name.startswith("."):
                continue
            target = os.path.realpath(path)
            if link:
                if not _inside(target, walk.root):
                    walk.skip(path, f"a symlink to `{os.readlink(path)}`, outside `{walk.top}`")
                elif target in ancestors:
                    walk.skip(path, f"a symlink loop (`{os.readlink(path)}` leads back to a folder it is in)")
                else:
                    walk.linked.append((path, target, (*ancestors, target)))
                continue
            walk.walked.add(target)
            _walk(path, walk, (*ancestors, target))
            continue
        if not yaml_name:
            continue
        if link and kind not in ("loop", "missing"):
            target = os.path.realpath(path)
            if not _inside(target, walk.root):
                walk.skip(path, f"a symlink to `{os.readlink(path)}`, outside `{walk.top}`")
                continue
        if kind == "file":
            walk.found.append(path)
        elif kind == "loop":
            walk.skip(path, "a symlink loop")
        elif kind == "missing" and link:
            walk.skip(path, f"a symlink to nothing (`{os.readlink(path)}`)")
        else:
            walk.skip(path, f"not a regular file: {_KINDS.get(kind, 'a special file')}")


def _entry_kind(entry: os.DirEntry[str]) -> str:
    mode = entry.stat(follow_symlinks=False).st_mode
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


# --- reading -------------------------------------------------------------------------------------------


def _missing(display: str, path: str) -> InputError:
    if os.path.islink(path):
        return InputError(f"cannot read `{display}`: a symlink to nothing (`{os.readlink(path)}`)")
    return InputError(f"no such file or folder: `{display}`")


def read_stream(stream: BinaryIO, display: str) -> bytes:
    """All of a stream, at most `max_bytes` (else InputError)."""
    data = stream.read(max_bytes + 1)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        raise _too_large(display)
    return data


def read_file(display: str, path: str) -> bytes:
    """The bytes of an input file, by the rules above; InputError (with the reason) when it may not be read."""
    if display in _piped:
        return _piped[display]
    kind = kind_of(path)
    if kind == "missing":
        raise _missing(display, path)
    if kind == "dir":
        raise InputError(f"`{display}` is a folder that cannot be read")
    if kind == "pipe":
        try:
            with open(path, "rb") as stream:
                return read_stream(stream, display)
        except OSError as exc:
            raise InputError(f"cannot read `{display}`: {exc.strerror}") from None
    if kind != "file":
        if kind == "device" and _is_devnull(path):
            return b""
        raise InputError(f"cannot read `{display}`: not a regular file but {_KINDS[kind]}")
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening it does not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(f"cannot read `{display}`: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"cannot read `{display}`: not a regular file")
        if st.st_size > max_bytes:
            raise _too_large(display)
        try:
            return read_stream(handle, display)
        except OSError as exc:
            raise InputError(f"cannot read `{display}`: {exc.strerror}") from None


# --- the check every command makes before reading ------------------------------------------------------


class Survey(msgspec.Struct):
    """What `survey` found: whether the input holds no YAML document, and the files it skipped."""

    empty: bool = True
    warnings: list[str] = msgspec.field(default_factory=list)


def survey(paths: list[str], stdin: bytes | None = None) -> Survey:
    """Check that every path can be read; InputError (one line, exit 2) otherwise.

    Refused: a path that does not exist, a folder or file that cannot be read (at any depth), a
    folder without YAML files, `-` given twice, a special file named on the command line, a symlink
    loop, an input over the size limit. Files skipped inside folders are listed in `warnings`.
    Pipes named on the command line are read here (once) and kept for the loader; `stdin` is what
    standard input held. `empty` tells whether the input holds no YAML document at all.
    """
    if paths.count("-") > 1:
        raise InputError("`-` (standard input) can be given only once")
    found = Survey()

    def unreadable(exc: OSError) -> None:
        raise InputError(f"cannot read folder `{exc.filename}`: {exc.strerror}")

    def skipped(display: str, why: str) -> None:
        found.warnings.append(f"skipped `{display}`: {why}")

    for p in paths:
        if p == "-":
            found.empty = found.empty and not has_content(stdin or b"")
            continue
        kind = kind_of(p)
        if kind == "missing":
            raise _missing(p, p)
        if kind == "loop":
            raise InputError(f"cannot read `{p}`: a symlink loop")
        if kind == "dir":
            if not os.access(p, os.R_OK | os.X_OK):
                raise InputError(f"cannot read folder `{p}`")
            files = 0
            for display, file in expand_paths([p], onerror=unreadable, on_skip=skipped):
                files += 1
                _check_file(display, str(file), found)
            if not files:
                raise InputError(f"no .yaml, .yml or .json files under `{p}`")
            continue
        for display, file in expand_paths([p], on_skip=skipped):
            _check_file(display, str(file), found)
    return found


def _check_file(display: str, path: str, found: Survey) -> None:
    kind = kind_of(path)
    if kind == "device" and _is_devnull(path):
        return  # empty input: refused below if nothing else holds a document
    if kind == "pseudo":
        raise InputError(f"cannot read `{display}`: a file of the kernel's /proc or /sys, not a regular file")
    if kind in ("device", "socket"):
        raise InputError(f"cannot read `{display}`: not a regular file but {_KINDS[kind]}")
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot read `{display}`: permission denied")
    if kind == "pipe":
        data = _piped[display] = read_file(display, path)
        found.empty = found.empty and not has_content(data)
        return
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise InputError(f"cannot read `{display}`: {exc.strerror}") from None
    if size > max_bytes:
        raise _too_large(display)
    if found.empty:
        try:
            with open(path, "rb") as handle:
                found.empty = not _stream_has_content(handle)
        except OSError as exc:
            raise InputError(f"cannot read `{display}`: {exc.strerror}") from None


_NO_CONTENT = re.compile(rb"\s*(?:#.*|%.*|(?:---|\.\.\.)(?:\s+#.*)?)?\s*")
"""A line that holds no YAML content: blank, a comment, a directive, a document marker."""


def has_content(data: bytes) -> bool:
    """Whether YAML bytes hold more than blank lines, comments, directives and document markers."""
    import io

    return _stream_has_content(io.BytesIO(data))


def _stream_has_content(stream: BinaryIO) -> bool:
    """`has_content` of a stream, reading only up to the first line of content, 64 KiB of a line at a time."""
    first = True
    line_start = True
    while line := stream.readline(65536):
        if first:
            first = False
            if line.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
                return True  # UTF-16 or UTF-32: the loader decodes and decides
            line = line.removeprefix(codecs.BOM_UTF8)
        if line_start and not _NO_CONTENT.fullmatch(line):
            return True
        line_start = line.endswith(b"\n")
    return False
