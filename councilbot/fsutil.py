"""File writes: atomic (a reader sees the old file or the new one, never half of one) and owner-only.

What the bot writes holds council answers before they are public: the database,
the search index and the exports are readable by their owner only (0600 files,
0700 folders), whatever the umask.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same directory and rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def make_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) if needed; the folder itself is owner-only (0700)."""
    target = Path(path)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    _restrict(target, 0o700)
    return target


def make_private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty if it does not exist; an existing file of ours loses group and other access."""
    target = Path(path)
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if target.is_file():
            _restrict(target, 0o600)
    return target


def _restrict(path: Path, mode: int) -> None:
    """Drop group and other permissions of a file or folder this user owns (others' are left alone)."""
    st = path.stat()
    if st.st_uid == os.getuid() and st.st_mode & 0o077:
        os.chmod(path, mode)
