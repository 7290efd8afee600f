#!/usr/bin/env bash
# The real-browser check: starts the notebook server (make notebook) on 127.0.0.1
# with a random token, opens notebooks/01_quickstart.ipynb in headless Chromium
# and checks that its stored output pictures are rendered, then moves the slider of
# 05_theory_toy2d in a live kernel (TestBrowser in notebooks/browser_test.go). The
# screenshot is left in out/browser-check/.
# As root it installs Debian's chromium first; make notebook installs the
# notebook server and the GoNB kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if ! command -v chromium >/dev/null && [ -z "${ORW_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y --no-install-recommends chromium >/dev/null ||
      { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
  else
    echo "browser-check: no chromium: install it (apt-get install chromium), or name a Chromium in ORW_CHROMIUM" >&2
    exit 1
  fi
fi
exec go test -tags browser -count=1 -v -timeout 15m -run '^TestBrowser$' ./notebooks/
