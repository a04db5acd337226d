#!/usr/bin/env bash
# What the test suite needs beyond `scripts/setup.sh`: Debian's `chromium`, for the headless-browser tests of the
# curation page and of `orpo compare`'s report.html. Idempotent: returns at once when it is already installed. Needs
# root (CI runs as root) or a chromium on PATH.
set -euo pipefail
say() { printf '[test-deps] %s\n' "$*" >&2; }

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "chromium not found and no apt-get here: the browser tests (curation page, compare report) will be skipped"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "chromium not found and not root: run 'sudo apt-get install -y chromium' to enable the browser tests"
  exit 0
fi
say "installing Debian's chromium (for the curation page's and the compare report's headless-browser tests, once)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { say "error: apt-get installed chromium but it is not on PATH"; exit 1; }
say "chromium ready: $(chromium --version 2>/dev/null || echo unknown version)"
