#!/usr/bin/env bash
# Debian packages for the browser tests: chromium (never a downloaded browser), and Xvfb + Mesa so the
# viewer can also be measured on llvmpipe; redis-server for the distributed job queue's test and benchmark
# (lam-serve --queue redis). Installs only what is missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v xvfb-run >/dev/null 2>&1 || need+=(xvfb xauth)
[ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -e /usr/lib/aarch64-linux-gnu/dri/swrast_dri.so ] \
  || need+=(libgl1-mesa-dri)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "error: need root (or sudo) to install: ${need[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# wait for another apt/dpkg run (an unattended upgrade, a parallel set-up) instead of failing on its lock
apt=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
$sudo "${apt[@]}" update -qq >/dev/null
$sudo "${apt[@]}" install -y -qq "${need[@]}" >/dev/null
