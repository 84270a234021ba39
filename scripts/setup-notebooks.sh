#!/usr/bin/env bash
# Notebook support: Jupyter from Debian's packages (PyPI is not reachable here) and the tslab
# TypeScript kernel registered inside the project (.jupyter/), so nothing lands in $HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/jupyter ] || ! /usr/bin/python3 -c 'import ipykernel, nbconvert' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jupyter-core jupyter-nbconvert jupyter-client python3-ipykernel >/dev/null
  else
    echo "Jupyter is missing. As root: apt-get install -y --no-install-recommends jupyter-core jupyter-nbconvert jupyter-client python3-ipykernel" >&2
    exit 1
  fi
fi
npx tslab install --python=/usr/bin/python3 --binary="$PWD/node_modules/.bin/tslab" --prefix "$PWD/.jupyter" >/dev/null
echo "tslab kernel registered in $PWD/.jupyter (use JUPYTER_PATH=$PWD/.jupyter/share/jupyter)"
