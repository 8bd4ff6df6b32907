#!/usr/bin/env bash
# Set up and run rnnscope on a fresh machine.
#   bash dev.sh serve [serve.py options]   set up, then serve the app on the shipped default model
#   bash dev.sh test  [pytest options]     set up (Chromium too), lint (ruff, then the layer contracts with
#                                          lint-imports), then run the whole test suite
#   bash dev.sh setup                      only set up
# Set-up is idempotent: a virtual environment in .venv with exactly torch 2.13.0 (the CPU wheel;
# a bare "torch" would pull a multi-GB CUDA build) and the versions pinned in constraints.txt.
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY="$VENV/bin/python"

say() { echo "rnnscope set-up: $*"; }

# pip's own output goes to a log, printed in full only when pip fails: quiet on success, nothing hidden on failure.
pip_step() {
  local log
  log="$(mktemp)"
  if ! "$PY" -m pip install --disable-pip-version-check "$@" >"$log" 2>&1; then
    echo "rnnscope set-up: pip failed; its output:" >&2
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

setup() {
  if [ ! -x "$PY" ]; then
    say "creating the virtual environment $VENV ..."
    python3 -m venv "$VENV"
  fi
  say "installing torch 2.13.0 (CPU) ..."
  pip_step "torch==2.13.0"
  say "installing rnnscope and its pinned dependencies (constraints.txt) ..."
  pip_step -c constraints.txt -e ".[test]"
  say "done."
}

need_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's Chromium for the browser tests ..."
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium </dev/null >/dev/null
  fi
  # The browser tests fail (never skip) without it; say so early and clearly.
  say "Chromium: $(/usr/bin/chromium --version)"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  setup) setup ;;
  serve) setup; exec "$PY" serve.py "$@" ;;
  test)  setup; need_chromium
         "$VENV/bin/ruff" check .
         "$PY" .ci/lint_imports.py          # the layer contracts of pyproject.toml (docs/architecture.md)
         exec "$PY" -m pytest "$@" ;;
  *) echo "usage: bash dev.sh serve|test|setup [options]" >&2; exit 2 ;;
esac
