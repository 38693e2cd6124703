"""Writing a file whole or not at all: exports, briefings and the broker's password and ACL files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from qingzhi.errors import QingzhiError


@contextlib.contextmanager
def replacing(path: Path, *, binary: bool = False, new_mode: int = 0o644, keep_owner: bool = False,
              new_dir_mode: int = 0o777) -> Iterator[IO]:
    """A temporary file beside `path` that replaces it in one rename when the block ends without an error:
    a reader (a browser, an analyst's script, the broker on SIGHUP) sees the old file or the new one whole.

    An existing file's mode is kept; a new one gets exactly `new_mode` (a new folder `new_dir_mode`, less
    the umask). keep_owner: the existing file's owner too (the broker's user must still read its files
    after root rewrote them). An OSError becomes a QingzhiError naming the file; the temporary file never
    stays behind, and `path` stays as it was."""
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=new_dir_mode)
        old = path.stat() if path.exists() else None
        # a new name no one could have planted a link at (O_EXCL): the folder may be shared, like /tmp
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        tmp = Path(name)
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as fh:
            os.fchmod(fh.fileno(), old.st_mode & 0o777 if old else new_mode)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if keep_owner and old and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
            try:
                os.chown(tmp, old.st_uid, old.st_gid)
            except PermissionError:
                raise QingzhiError(f"cannot keep the owner of {path} (uid {old.st_uid}, gid {old.st_gid}), which "
                                   "the broker may need: run this as that user or as root (nothing was changed)"
                                   ) from None
        os.replace(tmp, path)
    except ConnectionError:  # the block's database or broker went away: not the file's fault
        raise
    except OSError as exc:
        raise QingzhiError(f"cannot write {path}: {exc.strerror or exc} (nothing was changed)") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
