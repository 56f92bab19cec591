#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter (carbon_bayes needs PyMC 6 / ArviZ 1.x).
# Prefers 3.12 (every dependency has wheels for it): python3.12 on PATH, then pyenv's 3.12.x,
# then any other 3.12+ on PATH or in pyenv. Exits 1 if there is none.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
candidates=$(
  command -v python3.12 2>/dev/null
  ls -d "$root"/versions/3.12*/bin/python3 2>/dev/null | sort -V -r
  command -v python3 2>/dev/null
  ls -d "$root"/versions/3.1[3-9]*/bin/python3 2>/dev/null | sort -V
)
for p in $candidates; do
  if ok "$p"; then echo "$p"; exit 0; fi
done
echo "no Python >= 3.12 found: install one (e.g. pyenv install 3.12) and retry" >&2
exit 1
