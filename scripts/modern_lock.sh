#!/usr/bin/env bash
# Prints the modern stack's lock for this machine and its Python: the newest TFX it can install.
# TFX 1.21's ml-metadata and TFDV ship only manylinux_2_39 wheels (glibc >= 2.39, e.g. Debian 13):
# there TFX 1.21 on Python 3.11; elsewhere (Debian 12: glibc 2.36) TFX 1.16 on Python 3.10.
# MODERN_TFX=1.16 or 1.21 overrides the choice.
set -eu
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
choice=${MODERN_TFX:-}
if [ -z "$choice" ]; then
  if [ -n "$glibc" ] && [ "$(printf '%s\n2.39\n' "$glibc" | sort -V | head -1)" = "2.39" ]; then
    choice=1.21
  else
    choice=1.16
  fi
fi
case "$choice" in
  1.21) echo "requirements-modern-1.21.lock 3.11" ;;
  1.16) echo "requirements-modern-1.16.lock 3.10" ;;
  *) echo "error: MODERN_TFX=$choice: choose 1.16 or 1.21" >&2; exit 2 ;;
esac
echo "modern stack: TFX $choice (glibc ${glibc:-unknown})" >&2
