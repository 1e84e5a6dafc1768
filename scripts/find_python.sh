#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, or explains what to install.
# TFX 1.15 / TensorFlow 2.15 (the last with tf.estimator) need Python 3.10.
# Looks at: $PYTHON, python3.10 / python3 / python on PATH, `uv python find`,
# pyenv's versions folder, and the usual system locations.
set -u

is_310() {
  [ -n "$1" ] && [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1
}

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for name in python3.10 python3 python; do
  p=$(command -v "$name" 2>/dev/null) && candidates+=("$p")
done
if command -v uv >/dev/null 2>&1; then
  p=$(uv python find 3.10 2>/dev/null) && candidates+=("$p")
fi
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv"; do
  [ -n "$root" ] || continue
  for p in "$root"/versions/3.10*/bin/python; do
    [ -e "$p" ] && candidates+=("$p")
  done
done
candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10 /opt/homebrew/bin/python3.10)

for c in "${candidates[@]}"; do
  if is_310 "$c"; then
    echo "$c"
    exit 0
  fi
done

if [ -n "${PYTHON:-}" ]; then
  echo "error: PYTHON=$PYTHON is not a working Python 3.10 (with venv)." >&2
fi
{
  echo 'error: Python 3.10 was not found (TFX 1.15 and TensorFlow 2.15, the last release'
  echo 'with tf.estimator and model_to_estimator, need Python 3.10).'
  echo 'Install one, then run make again, for example:'
  echo '  uv python install 3.10              (with uv)'
  echo '  pyenv install 3.10                  (with pyenv)'
  echo '  sudo apt-get install python3.10 python3.10-venv   (Debian/Ubuntu)'
  echo 'or point at an existing interpreter: make run PYTHON=/path/to/python3.10'
} >&2
exit 1
