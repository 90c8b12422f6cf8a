"""Results folders that are never half-written: filled in a staging folder beside
the target and renamed into place in one step.

A disk that is full (over quota, read-only) is a DiskFull naming the path, what
was kept and how to free the space: a bare "No space left on device" says
neither, and the kept folder would keep the disk full for the next --resume.
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

from sim.errors import DiskFull, NotCapsimFolder
from sim.execution.checkpoint import FOLDER, holds_checkpoint

NO_ROOM = {errno.ENOSPC: ("the disk is full", "free space on it"),
           errno.EROFS: ("the file system is read-only", "make it writable"),
           **({errno.EDQUOT: ("the disk quota is used up", "free space under the quota")}
              if hasattr(errno, "EDQUOT") else {})}
"""The errors of a disk without room to write, with what a person is told: the cause and the remedy."""


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
    removed. Nothing is ever left half-written at `out_dir`. A disk without room
    (NO_ROOM) is a DiskFull instead; of a kept folder, only the checkpoint stays.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not (out_dir / "manifest.json").is_file() and not overwrite:
        raise NotCapsimFolder(
            f"{out_dir} exists and was not written by capsim (no manifest.json); "
            "choose another --out or pass --overwrite")
    try:
        staging, lock = _staging(out_dir, resume)
    except OSError as err:
        if err.errno in NO_ROOM:
            raise _disk_full(err, out_dir, None) from err
        raise
    try:
        try:
            yield staging
        except BaseException as err:
            kept = holds_checkpoint(staging)
            if not kept:
                shutil.rmtree(staging, ignore_errors=True)
            if isinstance(err, OSError) and err.errno in NO_ROOM:
                if kept:
                    _keep_checkpoint_only(staging)
                raise _disk_full(err, out_dir, staging if kept else None) from err
            if kept:
                err.add_note(f"the unfinished run is kept in {staging}: rerun the command that started it, "
                             "with --resume, to go on from where it stopped")
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


def _staging(out_dir: Path, resume: bool) -> tuple[Path, int | None]:
    """The staging folder for `out_dir` and its lock: the newest kept one with `resume`,
    else a new one (leftovers of killed runs are removed on the way)."""
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
    return staging, lock


def _disk_full(err: OSError, out_dir: Path, kept: Path | None) -> DiskFull:
    """What to tell a person whose disk had no room for `out_dir` (`kept`: the staging folder left for --resume)."""
    cause, remedy = NO_ROOM[err.errno or errno.ENOSPC]  # called only with an errno of NO_ROOM
    where = f"writing {err.filename}" if err.filename else f"writing {out_dir}"
    if kept is None:
        return DiskFull(f"{cause} ({where}); nothing was kept: {remedy}, or choose another --out, and run again")
    return DiskFull(
        f"{cause} ({where}, in its temporary folder {kept}). The finished replications are kept there "
        f"(in {kept / FOLDER}), beside {out_dir}: {remedy} and rerun the same command with --resume to go on "
        f"from where it stopped, or delete {kept} to give its space back (its finished replications are then lost)")


def _keep_checkpoint_only(staging: Path) -> None:
    """Remove what a run half-wrote beside its checkpoint (a resumed run writes it again), to give its space back."""
    for entry in staging.iterdir():
        if entry.name != FOLDER:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


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
