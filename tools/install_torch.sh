#!/usr/bin/env bash
# Install torch into the given interpreter's environment without ever pulling a CUDA build by accident.
# torch 2.13.0 (CPU) where pip can find that wheel locally; otherwise the normal torch for this machine.
set -euo pipefail
py="$1"
if "$py" -c 'import torch' 2>/dev/null; then
  exit 0
fi
echo "installing torch"
if "$py" -m pip --disable-pip-version-check -q install 'torch==2.13.0' >/dev/null 2>&1; then
  exit 0
fi
echo "torch==2.13.0 is not available here; installing the default torch build"
"$py" -m pip --disable-pip-version-check -q install torch
