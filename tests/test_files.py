"""qingzhi/files.py: a file is replaced whole or stays as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qingzhi.errors import QingzhiError
from qingzhi.files import replacing


def test_the_new_content_replaces_the_old_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    path.chmod(0o640)
    with replacing(path) as fh:
        fh.write("a,b\r\n")
        assert path.read_text() == "old\n"  # nobody sees the new file before it is whole
    assert path.read_bytes() == b"a,b\r\n" and path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_link_planted_in_a_shared_folder_is_not_followed(tmp_path: Path) -> None:
    """The temporary file has a name nobody can guess and is created new (a link at the name it
    had before, `.NAME.PID.part`, made root overwrite the link's target)."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / f".out.csv.{os.getpid()}.part").symlink_to(victim)
    with replacing(tmp_path / "out.csv") as fh:
        fh.write("export")
    assert victim.read_text() == "precious" and (tmp_path / "out.csv").read_text() == "export"


def test_a_new_file_and_folder_get_the_modes_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "new" / "passwd"
    old_umask = os.umask(0o022)
    try:
        with replacing(path, binary=True, new_mode=0o600, new_dir_mode=0o700) as fh:
            fh.write(b"\x00\x01")
    finally:
        os.umask(old_umask)
    assert path.read_bytes() == b"\x00\x01" and path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("error", [ValueError("bad row"), QingzhiError("the database said no"),
                                   ConnectionResetError("connection reset")])
def test_an_error_in_the_block_leaves_the_old_file_and_no_leftover(tmp_path: Path, error: Exception) -> None:
    """The caller's own errors pass through as they are (a dropped connection is not a file problem)."""
    path = tmp_path / "audit.csv"
    path.write_text("old\n")
    with pytest.raises(type(error), match=str(error)):
        with replacing(path) as fh:
            fh.write("half")
            raise error
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["audit.csv"]


def test_a_place_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    target = tmp_path / "file" / "x.pdf"
    with pytest.raises(QingzhiError, match=rf"^cannot write {target}: .*\(nothing was changed\)$"):
        with replacing(target, binary=True) as fh:
            fh.write(b"never")
    with pytest.raises(QingzhiError, match="No space left on device"):  # a full disk: /dev/full fails each write
        with replacing(tmp_path / "out.csv") as fh:
            os.dup2(os.open("/dev/full", os.O_WRONLY), fh.fileno())
            fh.write("x" * 10)
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "out.csv").exists()
