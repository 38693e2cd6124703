"""The README's demo command as a new user runs it on Debian or Ubuntu: from a clean clone, with the
distribution's Python (which refuses `pip install` outside a virtual environment, PEP 668) first on PATH."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from demo_helpers import Running, data_dir  # noqa: F401 (data_dir: a fixture)

from qingzhi.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_PYTHON = "/usr/bin/python3"
STOCK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # a stock Debian root's, no pyenv
pytestmark = pytest.mark.slow

# Debian's python3 without python3-venv: `-m venv` makes the folder and its python, finds no ensurepip for
# pip, says so (Debian's own words, on stdout) and exits 1, leaving the half-made environment behind.
NO_VENV_PYTHON = f"""#!/bin/sh
if [ "$1" = -m ] && [ "$2" = venv ]; then
  shift 2
  {DEBIAN_PYTHON} -m venv --without-pip "$@" || exit
  version=$({DEBIAN_PYTHON} -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  cat <<EOF
The virtual environment was not created successfully because ensurepip is not
available.  On Debian/Ubuntu systems, you need to install the python3-venv
package using the following command.

    apt install python$version-venv

You may need to use sudo with that command.  After installing the python3-venv
package, recreate your virtual environment.

Failing command: $(pwd)/.venv/bin/python3

EOF
  exit 1
fi
exec {DEBIAN_PYTHON} "$@"
"""


def readme_demo_command() -> str:
    """The demo command of the README's set-up section, exactly as written there (without its comment)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("  #")[0].strip() for line in section.splitlines() if line.startswith("    ")]
    demo = [c for c in commands if c.split()[-1] == "demo"]
    assert len(demo) == 1, commands
    return demo[0]


def debian_env(bin_dir: Path, python: str) -> dict[str, str]:
    """A stock Debian PATH with `python3` from bin_dir first; no virtual environment, pyenv or QZ_* setting."""
    bin_dir.mkdir(exist_ok=True)
    target = bin_dir / "python3"
    if python.startswith("#!"):
        target.write_text(python)
        target.chmod(0o755)
    else:
        target.symlink_to(python)
    drop = ("QZ_", "PYENV", "VIRTUAL_ENV", "CONDA", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = f"{bin_dir}:{STOCK_PATH}"
    return env


@pytest.fixture
def clone() -> Iterator[Path]:
    """A clean clone of this repository's committed HEAD, in a folder the `pgserver` user can traverse."""
    folder = Path(tempfile.mkdtemp(prefix="qz-clone-", dir="/tmp"))
    folder.chmod(0o755)
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(folder / "qingzhi")], check=True)
    yield folder / "qingzhi"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(1200)
def test_readme_demo_command_runs_on_the_distribution_python(clone: Path, data_dir: Path, tmp_path: Path) -> None:
    stdlib = subprocess.run([DEBIAN_PYTHON, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert (Path(stdlib) / "EXTERNALLY-MANAGED").is_file()  # the premise: it refuses `pip install` (PEP 668)
    command = readme_demo_command()
    # A user tried `python3 -m venv .venv` before python3-venv was installed: a half-made .venv, no pip.
    broken = subprocess.run(["python3", "-m", "venv", ".venv"], cwd=clone, capture_output=True, text=True,
                            env=debian_env(tmp_path / "no-venv", NO_VENV_PYTHON))
    assert broken.returncode == 1 and (clone / ".venv/bin/python").exists() and not (clone / ".venv/bin/pip").exists()

    env = debian_env(tmp_path / "debian", DEBIAN_PYTHON)
    assert shutil.which("python3", path=env["PATH"]) == str(tmp_path / "debian" / "python3")
    port = free_port()
    # The README's command, plus where to listen and keep data (the defaults may be in use on this machine)
    # and a small fleet; Ctrl-C reaches the whole foreground process group, as in a terminal.
    demo = Running(["bash", "-c", f"{command} --port {port} --data-dir {data_dir} --units 24 --history 1"],
                   cwd=clone, env=env, new_session=True)
    try:
        line = demo.wait_for("qingzhi demo is running", timeout=900)  # the first run installs everything
        assert f"http://127.0.0.1:{port}/" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
            assert resp.status == 200
        family = demo.family()
        os.killpg(demo.proc.pid, signal.SIGINT)
        assert demo.proc.wait(60) == 0, "".join(demo.out + demo.err)
    finally:
        if demo.proc.poll() is None:
            os.killpg(demo.proc.pid, signal.SIGKILL)
    assert "demo stopped" in "".join(demo.out) and "Traceback" not in "".join(demo.err)
    assert not psutil.wait_procs(family, timeout=10)[1]
    assert (clone / ".venv/bin/python").resolve() == Path(DEBIAN_PYTHON).resolve()  # the distribution's Python

    # Ran again, it reuses the environment as it is: nothing installed, straight to `qingzhi`.
    again = subprocess.run(["bash", "-c", f"{command} --help"], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "Run the whole system" in again.stdout, again.stderr
    assert "installing" not in again.stderr

    # A changed pyproject.toml is installed again (a dependency or entry point may have changed).
    with (clone / "pyproject.toml").open("a") as f:
        f.write("\n# changed\n")
    changed = subprocess.run(["bash", "-c", f"{command} --help"], cwd=clone, env=env, capture_output=True,
                             text=True, timeout=600)
    assert changed.returncode == 0 and "Run the whole system" in changed.stdout, changed.stderr
    assert "installing qingzhi" in changed.stderr


def test_readme_demo_command_without_venv_says_what_to_install(clone: Path, tmp_path: Path) -> None:
    env = debian_env(tmp_path / "no-venv", NO_VENV_PYTHON)
    version = subprocess.run([DEBIAN_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    out = subprocess.run(["bash", "-c", readme_demo_command()], cwd=clone, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0
    assert out.stdout == "" and len(out.stderr.splitlines()) == 1, out.stdout + out.stderr
    assert f"apt-get install python{version}-venv" in out.stderr and "Traceback" not in out.stderr
    assert not (clone / ".venv").exists()  # no half-made environment left behind
