#!/usr/bin/env bash
# Static checks, the same for developers (`make check`) and CI (`.ci/run`). In order,
# stopping at the first that fails:
#   1. gofmt -l     every .go file in the tree is gofmt-formatted (the listed ones are not)
#   2. go vet ./...   with cgo and without (CGO_ENABLED=0: the build on a machine
#                     without a C compiler, where XLA is left out)
#   3. staticcheck ./...   (honnef.co/go/tools, the version pinned in scripts/setup.sh)
#   4. go mod tidy -diff   go.mod and go.sum are tidy
#   5. shellcheck -x       every shell script (*.sh and files with a sh/bash shebang)
# Before them it installs staticcheck and shellcheck if missing (scripts/setup.sh --check,
# idempotent; shellcheck is the Debian package).
# Exit status 0 when everything passes, 1 at the first failing check.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
source scripts/env.sh

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
fail() {
  echo "check: FAILED: $* (after $(elapsed "$start_all"))" >&2
  exit 1
}

start_all=$(now)

# 0. Tools. setup.sh's progress goes to a log shown only when it fails.
setup_log=$(mktemp)
trap 'rm -f "$setup_log"' EXIT
if ! scripts/setup.sh --check >"$setup_log" 2>&1; then
  cat "$setup_log" >&2
  fail "scripts/setup.sh --check could not install the checkers (output above)"
fi
grep -q "install staticcheck" "$setup_log" && grep "install staticcheck" "$setup_log"

# 1. gofmt, the one of the toolchain in use (go1.27.3), not whatever gofmt is on PATH.
# The files: tracked and untracked-but-not-ignored ones in a git checkout, else all.
t=$(now)
echo "check: gofmt -l"
gofmt="$(go env GOROOT)/bin/gofmt"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard -- '*.go' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
else
  mapfile -t files < <(find . -name '*.go' -not -path './.git/*' | sed 's|^\./||')
fi
[ ${#files[@]} -gt 0 ] || fail "gofmt: no .go files found"
unformatted=$("$gofmt" -l "${files[@]}") || fail "gofmt could not parse some files (errors above)"
if [ -n "$unformatted" ]; then
  while IFS= read -r f; do echo "  $f"; done <<<"$unformatted" >&2
  fail "gofmt: the files above are not formatted (fix with: go fmt ./... or $gofmt -w FILE)"
fi
echo "check: gofmt ok, ${#files[@]} files ($(elapsed "$t"))"

# 2. go vet
t=$(now)
echo "check: go vet ./..."
go vet ./... || fail "go vet reported the problems above"
echo "check: CGO_ENABLED=0 go vet ./..."
CGO_ENABLED=0 go vet ./... || fail "go vet without cgo reported the problems above (files that need go-xla need //go:build cgo)"
echo "check: go vet ok ($(elapsed "$t"))"

# 3. staticcheck
t=$(now)
echo "check: staticcheck ./...   ($(staticcheck -version))"
staticcheck ./... || fail "staticcheck reported the problems above"
echo "check: staticcheck ok ($(elapsed "$t"))"

# 4. go mod tidy -diff
t=$(now)
echo "check: go mod tidy -diff"
go mod tidy -diff || fail "go.mod/go.sum are not tidy (diff above; fix with: go mod tidy)"
echo "check: go mod tidy ok ($(elapsed "$t"))"

# 5. shellcheck, of every tracked (or new, not ignored) shell script: the *.sh files and
# the files whose first line is a sh or bash shebang (.ci/run). -x follows `source`.
t=$(now)
command -v shellcheck >/dev/null ||
  fail "shellcheck is not installed (Debian/Ubuntu: apt-get install shellcheck; as root scripts/setup.sh --check does it)"
echo "check: shellcheck   ($(shellcheck --version | sed -n 's/^version: //p'))"
scripts=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  case "$f" in
    *.sh) scripts+=("$f") ;;
    *) head -n 1 "$f" | grep -Eq '^#!.*(/|env )(ba)?sh([[:space:]]|$)' && scripts+=("$f") ;;
  esac
done < <(if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -co --exclude-standard
else
  find . -type f -not -path './.git/*' | sed 's|^\./||'
fi)
[ ${#scripts[@]} -gt 0 ] || fail "shellcheck: no shell scripts found"
shellcheck -x "${scripts[@]}" || fail "shellcheck reported the problems above (in: ${scripts[*]})"
echo "check: shellcheck ok, ${#scripts[@]} scripts ($(elapsed "$t"))"

echo "check: all passed ($(elapsed "$start_all"))"
