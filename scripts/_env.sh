# Shared by scripts/test and scripts/demo: find Python 3.13 and keep .venv in step with pyproject.toml.
# shellcheck shell=bash

gridnode_find_python() {
  if command -v python3.13 >/dev/null 2>&1 && python3.13 -c 'import sys' >/dev/null 2>&1; then
    command -v python3.13
    return
  fi
  local candidate
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
  return 1
}

gridnode_ensure_venv() {
  local python stamp wanted
  if ! python=$(gridnode_find_python); then
    echo "GridNode needs Python 3.13 (the newest Python Home Assistant 2025.4 runs on)." >&2
    echo "Install it (e.g. 'pyenv install 3.13' or your distribution's python3.13) and run this again." >&2
    exit 1
  fi
  stamp=".venv/.gridnode-pyproject.sha256"
  wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "==> Installing GridNode's environment in .venv (Python: $python); this takes a few minutes once"
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet ".[test]"
    echo "$wanted" > "$stamp"
  fi
}
