"""Files with household data or secrets are their owner's alone (CL-13, AD-5).

- :func:`private_dir` makes the folders it has to make mode 0700 (existing ones are left as
  they are: ``/var/lib`` is not ours to change);
- :func:`private_file` creates a file mode 0600 before any library opens it, whatever the
  umask; SQLite then gives its ``-wal`` and ``-shm`` files the database file's mode;
- :func:`check_secret` refuses, at start-up, a key that other users can read, naming the fix;
- :func:`check_data` warns about a data file (a store, an outbox) that other users can read.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from omdp.errors import ConfigError

log = logging.getLogger(__name__)

OTHERS = 0o077
"""Permission bits of the group and of everyone else."""


def private_dir(path: Path) -> None:
    """Make ``path`` and its missing parents; those made here get mode 0700."""
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700, exist_ok=True)
        made.chmod(0o700)  # mkdir's mode is masked by the umask


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 when it does not exist (its folder with
    :func:`private_dir`); an existing file is checked with :func:`check_data`."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        check_data(path)
        return path
    os.close(fd)
    path.chmod(0o600)
    return path


def _readable(path: Path) -> int | None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & OTHERS else None


def check_secret(path: Path, what: str) -> None:
    """Refuse a key or secret file that other users can read.

    Raises:
        ConfigError: naming the file, its mode and the fix.
    """
    mode = _readable(path)
    if mode is not None:
        msg = (
            f"{path}: {what} is readable by other users (mode {mode:04o}); "
            f"refusing to use it: chmod 600 {path}"
        )
        raise ConfigError(msg)


def check_data(path: Path) -> None:
    """Warn when a file of household data can be read by other users."""
    mode = _readable(path)
    if mode is not None:
        log.warning(
            "%s is readable by other users (mode %04o): it holds household data; chmod 600 it",
            path,
            mode,
        )
