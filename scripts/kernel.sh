#!/usr/bin/env bash
# Registers the GoNB Jupyter kernel for this project: the kernel gets the toolchain
# settings (GOTOOLCHAIN, GOEXPERIMENT) and a PATH with go, gonb and goimports.
# JUPYTER_DATA_DIR chooses where (default: Jupyter's per-user data directory).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
command -v gonb >/dev/null || go install github.com/janpfeifer/gonb
command -v goimports >/dev/null || go install golang.org/x/tools/cmd/goimports
# GoNB copies os.Args[0] with --force_copy and checks for gopls (optional here), so
# call it by its full path and without those.
gonb_bin="$(command -v gonb)"
"$gonb_bin" --install --force_deps >/dev/null 2>&1 || "$gonb_bin" --install --force_deps
datadir="${JUPYTER_DATA_DIR:-$(jupyter --data-dir 2>/dev/null || echo "$HOME/.local/share/jupyter")}"
kjson="$datadir/kernels/gonb/kernel.json"
if [ ! -f "$kjson" ]; then
  echo "kernel.sh: gonb --install did not write $kjson" >&2
  exit 1
fi
python3 - "$kjson" <<PY
import json, os, sys
p = sys.argv[1]
k = json.load(open(p))
env = k.setdefault("env", {})
env["GOTOOLCHAIN"] = os.environ["GOTOOLCHAIN"]
env["GOEXPERIMENT"] = os.environ["GOEXPERIMENT"]
go = os.popen("command -v go").read().strip()
path = [os.path.dirname(go), os.path.join(os.popen("go env GOPATH").read().strip(), "bin")]
env["PATH"] = ":".join(path + [d for d in os.environ["PATH"].split(":") if d not in path])
json.dump(k, open(p, "w"), indent=2)
PY
echo "kernel: GoNB kernel registered in $kjson"
