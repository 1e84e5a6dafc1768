#!/usr/bin/env bash
# Creates the virtual environment VENV (default .venv) with the pinned stack LOCK (default
# requirements.lock; the Kubeflow / Vertex compile environment uses requirements-kfp.lock; the
# modern stack the lock scripts/modern_lock.sh picks) on Python PYVER (default 3.10).
# uv installs the whole stack in under a minute; it is bootstrapped from PyPI into
# .tools/ when missing, and pip is the fallback. The venv gets pip inside it:
# TFX pip-installs the user-module wheels it builds for Transform and Trainer.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
LOCK=${2:-requirements.lock}
PYVER=${3:-3.10}
UV_VERSION=0.13.9
PY=$(bash scripts/find_python.sh "$PYVER")
echo "bootstrap: Python $PYVER at $PY; $LOCK into $VENV"

uv_bin=""
if command -v uv >/dev/null 2>&1; then
  uv_bin=$(command -v uv)
elif [ -x .tools/uv/bin/uv ]; then
  uv_bin=.tools/uv/bin/uv
else
  echo "bootstrap: installing uv $UV_VERSION into .tools/uv"
  if "$(bash scripts/find_python.sh)" -m venv .tools/uv && .tools/uv/bin/python -m pip install -q "uv==$UV_VERSION"; then
    uv_bin=.tools/uv/bin/uv
  else
    echo "bootstrap: could not install uv; falling back to pip (slower)" >&2
  fi
fi

if [ -n "$uv_bin" ]; then
  [ -x "$VENV/bin/python" ] || "$uv_bin" venv --seed --python "$PY" "$VENV"
  # Bytecode compiled up front: imports of TF/TFX are several times faster,
  # also where PYTHONDONTWRITEBYTECODE is set.
  "$uv_bin" pip install --python "$VENV/bin/python" --compile-bytecode -r "$LOCK"
  "$uv_bin" pip install --python "$VENV/bin/python" --no-deps -e .
else
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  # The lock pins every transitive dependency, so pip needs no resolver pass.
  "$VENV/bin/python" -m pip install -q --no-deps -r "$LOCK"
  "$VENV/bin/python" -m pip install -q --no-deps -e .
  "$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" >/dev/null || true
fi
"$VENV/bin/python" -m pip --version >/dev/null
touch "$VENV/.installed"
echo "bootstrap: environment ready in $VENV"
