"""Write command output atomically: a temporary file in the target folder, then a rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


class OutputError(Exception):
    """The output file cannot be written; the CLI reports it and exits with code 2."""


def write_atomic(path: str | Path, text: str) -> None:
    """Write text to path so that readers see the old file or the new one, never a partial one.

    On any error the temporary file is removed and an existing file is left untouched.
    """
    target = Path(path)
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
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        mode = _mode_for(target)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write `{path}`: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; new files get 0666 minus the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
