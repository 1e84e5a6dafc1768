#!/usr/bin/env bash
# Prints the path of a Python WANT interpreter (the argument; default 3.10), or explains what to install.
# TFX 1.15 / TensorFlow 2.15 (the last with tf.estimator) and TFX 1.16 need Python 3.10;
# TFX 1.21 (the modern stack where glibc >= 2.39) takes 3.11.
# Looks at: $PYTHON, pythonWANT / python3 / python on PATH, `uv python find`,
# pyenv's versions folder, and the usual system locations.
set -u
WANT=${1:-3.10}

is_wanted() {
  [ -n "$1" ] && [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
  "$1" -c "import sys, venv; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$WANT' else 1)" >/dev/null 2>&1
}

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for name in "python$WANT" python3 python; do
  p=$(command -v "$name" 2>/dev/null) && candidates+=("$p")
done
if command -v uv >/dev/null 2>&1; then
  p=$(uv python find "$WANT" 2>/dev/null) && candidates+=("$p")
fi
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv"; do
  [ -n "$root" ] || continue
  for p in "$root"/versions/"$WANT"*/bin/python; do
    [ -e "$p" ] && candidates+=("$p")
  done
done
candidates+=("/usr/bin/python$WANT" "/usr/local/bin/python$WANT" "/opt/homebrew/bin/python$WANT")

for c in "${candidates[@]}"; do
  if is_wanted "$c"; then
    echo "$c"
    exit 0
  fi
done

if [ -n "${PYTHON:-}" ]; then
  echo "error: PYTHON=$PYTHON is not a working Python $WANT (with venv)." >&2
fi
{
  echo "error: Python $WANT was not found (TFX 1.15 and TensorFlow 2.15, the last release"
  echo "with tf.estimator and model_to_estimator, and TFX 1.16 need 3.10; TFX 1.21 takes 3.11)."
  echo 'Install one, then run make again, for example:'
  echo "  uv python install $WANT              (with uv)"
  echo "  pyenv install $WANT                  (with pyenv)"
  echo "  sudo apt-get install python$WANT python$WANT-venv   (Debian/Ubuntu)"
  echo "or point at an existing interpreter: make run PYTHON=/path/to/python$WANT"
} >&2
exit 1
