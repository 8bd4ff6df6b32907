#!/usr/bin/env bash
# Set up and run rnnscope on a fresh machine.
#   bash dev.sh serve [serve.py options]   set up, then serve the app on the shipped default model
#   bash dev.sh test  [pytest options]     set up (Chromium too), lint (ruff), then run the whole test suite
#   bash dev.sh setup                      only set up
# Set-up is idempotent: a virtual environment in .venv with exactly torch 2.13.0 (the CPU wheel;
# a bare "torch" would pull a multi-GB CUDA build) and the versions pinned in constraints.txt.
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY="$VENV/bin/python"

setup() {
  if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
  fi
  "$PY" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
  "$PY" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
}

need_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium for the browser tests..."
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium </dev/null >/dev/null
  fi
  # The browser tests fail (never skip) without it; say so early and clearly.
  /usr/bin/chromium --version
}

cmd="${1:-}"
shift || true
case "$cmd" in
  setup) setup ;;
  serve) setup; exec "$PY" serve.py "$@" ;;
  test)  setup; need_chromium; "$VENV/bin/ruff" check .; exec "$PY" -m pytest "$@" ;;
  *) echo "usage: bash dev.sh serve|test|setup [options]" >&2; exit 2 ;;
esac
