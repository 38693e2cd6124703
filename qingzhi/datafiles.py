"""Files that settings name (the road network) come only from the data directory, QZ_DATA_DIR.

A setting that a user changes at run time (the dispatch page's Setup tab) must not make the
server read whatever file it names: `/etc/shadow`, `../../secrets`, a symbolic link out.
"""

from __future__ import annotations

from pathlib import Path

from qingzhi.errors import QingzhiError


def data_file(data_dir: str | None, name: str) -> Path:
    """The existing regular file `name` (relative, or absolute inside) under data_dir, resolved.

    QingzhiError, naming the rule, for anything else: no data directory configured, a `..` that
    leaves it, an absolute path or a symbolic link that points outside it, a missing file.
    """
    if not data_dir:
        raise QingzhiError(f"file {name!r} not read: no data directory is configured (QZ_DATA_DIR); "
                           "files named in settings are read only from there")
    if not name or "\0" in name:
        raise QingzhiError("file name is empty or holds a NUL character")
    root = Path(data_dir).resolve()
    path = (root / name).resolve()  # an absolute `name` replaces root; `..` and links are followed
    if not path.is_relative_to(root):
        raise QingzhiError(f"file {name!r} is outside the data directory {str(root)!r} (QZ_DATA_DIR): "
                           "name a file in it")
    if not path.is_file():
        raise QingzhiError(f"no file {name!r} in the data directory {str(root)!r} (QZ_DATA_DIR)")
    return path
