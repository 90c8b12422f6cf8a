"""Results folders that are never half-written: filled in a staging folder beside
the target and renamed into place in one step.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sim.errors import NotCapsimFolder
from sim.execution.checkpoint import holds_checkpoint


@contextlib.contextmanager
def atomic_folder(out_dir: str | Path, overwrite: bool = False, *, resume: bool = False) -> Iterator[Path]:
    """A temporary folder beside `out_dir` to fill; renamed into place when the block ends.

    A folder capsim wrote before (it holds a manifest.json) is replaced,
    anything else at the target only with `overwrite`; the replacement is one
    atomic exchange where the system has it (Linux), so a reader sees the old
    folder or the new one, never neither. Temporary folders left by a run that
    was killed are removed, or with `resume` the newest one that holds a
    checkpoint is filled again. A run holds a lock on its temporary folder
    until it ends (released by the system even on SIGKILL): the folder of a
    run still going on is never taken for a leftover.

    If the block raises and the folder holds a checkpoint, the folder is kept
    (for --resume) and the exception gets a note saying where; otherwise it is
    removed. Nothing is ever left half-written at `out_dir`.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not (out_dir / "manifest.json").is_file() and not overwrite:
        raise NotCapsimFolder(
            f"{out_dir} exists and was not written by capsim (no manifest.json); "
            "choose another --out or pass --overwrite")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging, lock = None, None
    leftovers = sorted(out_dir.parent.glob(f".{out_dir.name}.tmp-*"), key=_modified, reverse=True)
    for leftover in leftovers:
        if leftover.is_symlink() or not leftover.is_dir():
            leftover.unlink(missing_ok=True)
            continue
        held = _lock(leftover)
        if held is None:
            continue  # the staging folder of a run still going on
        if (resume and staging is None and ".tmp-old-" not in leftover.name
                and holds_checkpoint(leftover)):
            staging, lock = leftover, held
            continue
        shutil.rmtree(leftover, ignore_errors=True)
        _unlock(held)
    if staging is None:
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
        umask = os.umask(0o022)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would make the results folder private
        lock = _lock(staging)
    try:
        try:
            yield staging
        except BaseException as err:
            if holds_checkpoint(staging):
                err.add_note(f"the unfinished run is kept in {staging}: rerun the command that started it, "
                             "with --resume, to go on from where it stopped")
            else:
                shutil.rmtree(staging, ignore_errors=True)
            raise
        if out_dir.exists() or out_dir.is_symlink():
            if _exchange(staging, out_dir):
                retired = staging  # now holds what was at out_dir
            else:
                retired = staging.with_name(staging.name.replace(".tmp-", ".tmp-old-"))
                os.replace(out_dir, retired)
                os.replace(staging, out_dir)
            if retired.is_dir() and not retired.is_symlink():
                shutil.rmtree(retired, ignore_errors=True)
            else:
                retired.unlink(missing_ok=True)
        else:
            os.replace(staging, out_dir)
    finally:
        _unlock(lock)


def _modified(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def _lock(folder: Path) -> int | None:
    """An exclusive lock on `folder` (its open descriptor), or None if another
    process holds it (or the folder is gone). -1 where there are no such locks."""
    try:
        import fcntl
    except ImportError:
        return -1
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def _unlock(descriptor: int | None) -> None:
    if descriptor is not None and descriptor >= 0:
        os.close(descriptor)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # glibc before 2.28, or another C library
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):  # the file system cannot
        return False
    raise OSError(error, os.strerror(error), str(b))
