# Shared by scripts/test, scripts/demo and scripts/screenshot: the two Home Assistant lanes, each in
# its own virtual environment kept in step with pyproject.toml.
#   minimum: Home Assistant 2025.4 (hacs.json's minimum) on Python 3.13, in .venv
#   current: Home Assistant 2026.10 on Python 3.14, in .venv-ha-current
# shellcheck shell=bash

GRIDNODE_LANES=(minimum current)

gridnode_lane_venv() {
  case "$1" in
    minimum) echo .venv ;;
    current) echo .venv-ha-current ;;
    *) return 1 ;;
  esac
}

gridnode_find_python313() {
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

# Python >= 3.14.2 (Home Assistant 2026.x's minimum): python3.14 on PATH, else the relocatable build
# in ../shared/toolchains (it unpacks itself on first use and prints its path).
gridnode_find_python314() {
  local candidate
  if candidate=$(command -v python3.14 2>/dev/null) \
    && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 14, 2))' >/dev/null 2>&1; then
    echo "$candidate"
    return
  fi
  if [ -f ../shared/toolchains/python3.14 ] \
    && candidate=$(bash ../shared/toolchains/python3.14 2>/dev/null) \
    && [ -x "$candidate" ] \
    && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 14, 2))' >/dev/null 2>&1; then
    echo "$candidate"
    return
  fi
  return 1
}

# Why a lane cannot run here, in one line (empty when it can).
gridnode_lane_missing() {
  case "$1" in
    minimum)
      gridnode_find_python313 >/dev/null || echo "no Python 3.13 (install python3.13, e.g. 'pyenv install 3.13')"
      ;;
    current)
      gridnode_find_python314 >/dev/null \
        || echo "no Python >= 3.14.2 (no python3.14 on PATH and no ../shared/toolchains/python3.14 beside the checkout)"
      ;;
  esac
}

# Create or refresh a lane's environment; reinstall only when pyproject.toml changes.
gridnode_ensure_venv() {
  local lane="${1:-minimum}" venv python stamp wanted
  venv=$(gridnode_lane_venv "$lane")
  case "$lane" in
    minimum) python=$(gridnode_find_python313) ;;
    current) python=$(gridnode_find_python314) ;;
  esac
  if [ -z "${python:-}" ]; then
    echo "GridNode's $lane lane: $(gridnode_lane_missing "$lane")" >&2
    exit 1
  fi
  stamp="$venv/.gridnode-pyproject.sha256"
  wanted=$( (cat pyproject.toml; echo "$lane") | sha256sum | cut -d' ' -f1)
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "==> Installing the $lane lane in $venv (Python: $python); this takes a few minutes once"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet ".[test,ha-$lane]"
    echo "$wanted" > "$stamp"
  fi
}

# "Home Assistant 2026.10.4 on Python 3.14.10"
gridnode_lane_versions() {
  "$(gridnode_lane_venv "$1")/bin/python" -c \
    'import platform; from homeassistant.const import __version__; print(f"Home Assistant {__version__} on Python {platform.python_version()}")'
}
