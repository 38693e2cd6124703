"""The CSV files one import reads: files, folders (searched recursively) and zip archives.

data.police.uk hands out one CSV per force per month, in a folder per month, or all of it as one
zip; an import takes any mix of these. Archives are read in place (nothing is extracted), so a
member's name can never write anywhere.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from qingzhi.errors import QingzhiError


@dataclass(frozen=True)
class Source:
    """One CSV file to read: its name for people, its size in bytes, and how to open it."""

    name: str                      # the path, or `archive.zip:member`
    size: int
    opener: Callable[[], BinaryIO]

    def open(self) -> BinaryIO:
        """The file's bytes, from the start."""
        return self.opener()


def expand(paths: Iterable[Path]) -> list[Source]:
    """Every CSV in `paths`, in the order given (folders and archives sorted by name), each once."""
    found: dict[str, Source] = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            inner = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".csv", ".zip"))
            sources = [s for p in inner for s in _file(p)]
            if not sources:
                raise QingzhiError(f"{path}: no .csv files or .zip archives in this folder")
        elif path.is_file():
            sources = _file(path)
        else:
            raise QingzhiError(f"{path}: no such file or folder")
        for source in sources:
            found.setdefault(source.name, source)
    return list(found.values())


def _file(path: Path) -> list[Source]:
    """A CSV file, or the CSV members of a zip archive."""
    if not zipfile.is_zipfile(path):
        return [Source(str(path), path.stat().st_size, lambda: path.open("rb"))]
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted((i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".csv")
                              and not i.filename.startswith("__MACOSX/")), key=lambda i: i.filename)
    except (zipfile.BadZipFile, OSError) as exc:
        raise QingzhiError(f"{path}: not a readable zip archive ({exc})") from None
    if not members:
        raise QingzhiError(f"{path}: no .csv files in this zip archive")
    return [Source(f"{path}:{m.filename}", m.file_size, _member_opener(path, m.filename)) for m in members]


def _member_opener(path: Path, member: str) -> Callable[[], BinaryIO]:
    """Opens one member of the archive (the archive stays open until the member is closed)."""
    def open_member() -> BinaryIO:
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.open(member)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:  # RuntimeError: an encrypted member
            raise QingzhiError(f"{path}:{member}: cannot be read ({exc})") from None
    return open_member
