#!/usr/bin/env bash
# `./qingzhi.sh ARGS…` is `qingzhi ARGS…` run from this checkout's own virtual environment, .venv:
# made when missing or half-made, installed into again only when pyproject.toml (or the checkout's
# place) changed, reused as it is otherwise. A virtual environment because a distribution's Python
# (Debian 12, Ubuntu ≥ 23.04) refuses `pip install` outside one (PEP 668).
# `.ci/run` sources this file for `venv_ready test` (the test extra).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=$ROOT/.venv
STAMP=$VENV/.qingzhi-installed  # one line per extra installed: "<sha256 of pyproject.toml> <ROOT> <extra>"

die() {
  echo "qingzhi.sh: error: $*" >&2
  exit 2
}

# make_venv: a new .venv from the first python3 on PATH; what to install, in one line, when it cannot.
make_venv() {
  command -v python3 >/dev/null || die "no python3 on PATH: install Python 3.11 or newer"
  local version out
  version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "qingzhi needs Python 3.11 or newer; python3 is $version"
  if ! out=$(python3 -m venv --clear "$VENV" 2>&1); then
    rm -rf "$VENV"  # Debian leaves a venv without pip behind
    [[ $out == *ensurepip* ]] && die "python3 $version cannot make a virtual environment: apt-get install python$version-venv (as root), then run this again"
    die "python3 -m venv $VENV failed: $out"
  fi
}

# venv_ready [EXTRA]: .venv works and has this checkout installed (editable, with EXTRA if given).
venv_ready() {
  local extra=${1:-} key
  key="$(sha256sum <"$ROOT/pyproject.toml" | cut -d' ' -f1) $ROOT"
  if "$VENV/bin/python" -c '' 2>/dev/null && grep -qxF "$key $extra" "$STAMP" 2>/dev/null; then
    return 0
  fi
  "$VENV/bin/python" -m pip --version >/dev/null 2>&1 || make_venv
  echo "qingzhi.sh: installing qingzhi${extra:+[$extra]} and its dependencies into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT${extra:+[$extra]}"
  # What stays true after this install: earlier extras under the same key, the plain package, and EXTRA.
  { grep -F "$key " "$STAMP" 2>/dev/null || true; echo "$key "; echo "$key $extra"; } | sort -u >"$STAMP.new"
  mv "$STAMP.new" "$STAMP"
}

[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0  # sourced: the functions only
venv_ready
exec "$VENV/bin/qingzhi" "$@"
