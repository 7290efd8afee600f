#!/usr/bin/env bash
# README's commands and the Docker recipe on clean Debian 12 roots (docs/testing.md).
#
#   scripts/fresh-root-test.sh [--full] [--only readme|recipe] [--drop PKG]... [--refresh] [--keep]
#
# As root. It builds a minimal Debian 12 root with debootstrap (--variant=minbase bookworm,
# the Debian mirror of the host's apt sources; the pristine root is kept as a tarball in
# /var/cache/orw-fresh-root for 7 days and each root is unpacked from it afresh), then:
#
#  1. the README root: only README's prerequisites. `apt-get install make ca-certificates
#     git` (no C compiler), the host's Go copied to /usr/local/go and put on the PATH, the
#     host's CA certificates (the bundle, /etc/ssl/certs and /usr/local/share/ca-certificates:
#     this network needs certificates a stock Debian does not have), empty Go caches. It
#     clones the commit checked out here with the root's git and runs `make demo` at its
#     full size; with --full also `make test`.
#  2. the recipe root: docker/Dockerfile's steps as Docker runs them, read from the file
#     (its COPY steps from the commit's files less docker/Dockerfile.dockerignore, each RUN
#     under the file's SHELL, ENV and WORKDIR), with the build argument GO_BOOTSTRAP=none
#     so that docker/bootstrap.sh installs its packages and keeps the copied Go instead of
#     downloading one. Then it starts the image's CMD (on 127.0.0.1 and a free port instead
#     of 0.0.0.0:8888) and checks that the notebook server answers on /api and lists the
#     GoNB kernel.
#
# Options: --full adds `make test` in the README root; --only runs one root; --drop PKG
# leaves PKG out of README's packages (the check that the test notices a missing package;
# without ca-certificates the root gets only the host's local CAs, not its bundle and
# directory); --refresh debootstraps anew instead of using the cached tarball; --keep
# keeps the roots (unmounted) in the work directory. Environment: ORW_DEBIAN_MIRROR (the
# mirror), ORW_FRESH_ROOT_DIR (where the roots go, default /var/tmp/orw-fresh-root),
# ORW_FRESH_ROOT_CACHE (default /var/cache/orw-fresh-root).
#
# Logs and summary.txt go to out/fresh-root/. The mounts (/proc, /sys, /dev, /dev/pts,
# /dev/shm, the repository read-only for the clone) are unmounted and the processes
# still running in the roots stopped on any exit, Ctrl-C included; the roots are deleted
# only when nothing is mounted under them. Exit status 0 when every step passes.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() {
  echo "fresh-root: FAILED: $*" >&2
  exit 1
}
say() { echo "fresh-root: $*"; }

cmdline="$*"
full=0
only=""
refresh=0
keep=0
drop=()
while [ $# -gt 0 ]; do
  case "$1" in
    --full) full=1 ;;
    --only)
      case "${2:-}" in readme | recipe) ;; *) die "--only takes readme or recipe" ;; esac
      only=$2
      shift
      ;;
    --drop)
      [ $# -ge 2 ] || die "--drop takes a package name"
      drop+=("$2")
      shift
      ;;
    --refresh) refresh=1 ;;
    --keep) keep=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option $1 (valid: --full, --only readme|recipe, --drop PKG, --refresh, --keep)" ;;
  esac
  shift
done

repo="$(cd "$(dirname "$0")/.." && pwd)"
logs="$repo/out/fresh-root"

# --- What the host must have --------------------------------------------------------------
[ "$(uname -s)" = Linux ] || die "this test needs Linux (debootstrap, chroot, mount)"
[ "$(id -u)" = 0 ] || die "run it as root: debootstrap, chroot and mount need root (sudo $0${cmdline:+ $cmdline})"
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || die "debootstrap is missing and there is no apt-get to install it; install debootstrap"
  say "apt-get install debootstrap"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/tmp/orw-apt.log 2>&1 ||
    { apt-get update >>/tmp/orw-apt.log 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >>/tmp/orw-apt.log 2>&1; }; } ||
    die "debootstrap is missing and apt-get install debootstrap failed (see /tmp/orw-apt.log)"
  command -v debootstrap >/dev/null || die "apt-get installed debootstrap, but it is not on the PATH ($PATH)"
fi
for c in chroot mount umount tar git; do
  command -v "$c" >/dev/null || die "$c is missing on the host"
done
# The host's Go, the one on the PATH (not a toolchain it switched to).
command -v go >/dev/null || die "no go on the host's PATH: the roots get a copy of the host's Go"
goroot="$(GOTOOLCHAIN=local go env GOROOT)"
gover="$(GOTOOLCHAIN=local go env GOVERSION)"
[ -x "$goroot/bin/go" ] || die "the host's GOROOT $goroot has no bin/go"
[ -s /etc/ssl/certs/ca-certificates.crt ] || die "the host has no /etc/ssl/certs/ca-certificates.crt to copy into the roots"
commit="$(git -C "$repo" rev-parse HEAD)" || die "$repo is not a git checkout"
gitdir="$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir)"
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
  say "note: the checkout has uncommitted changes; the roots get commit ${commit:0:12} without them"
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"

# The Debian mirror: ORW_DEBIAN_MIRROR, else the first .../debian URI of the host's apt
# sources (deb822 or one-line style), else deb.debian.org.
host_mirror() {
  {
    sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
  } | grep -E '^https?://[^ ]+/debian/?$' | head -n 1 | sed 's|/$||' || true
}
mirror="${ORW_DEBIAN_MIRROR:-$(host_mirror)}"
mirror="${mirror:-http://deb.debian.org/debian}"

cache="${ORW_FRESH_ROOT_CACHE:-/var/cache/orw-fresh-root}"
base_tar="$cache/bookworm-minbase-$arch.tar"
mkdir -p "${ORW_FRESH_ROOT_DIR:-/var/tmp/orw-fresh-root}" "$cache" "$logs"
work="$(mktemp -d "${ORW_FRESH_ROOT_DIR:-/var/tmp/orw-fresh-root}/run.XXXXXX")"
rm -f "$logs"/*.log "$logs/summary.txt"

# --- Clean-up, whatever happens --------------------------------------------------------------
# The mount points under $work, deepest first.
mounts_under() {
  awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-
}
# Processes whose root directory is inside $work: those the test started in its roots.
root_pids() {
  { find /proc/[0-9]*/root -maxdepth 0 -lname "$work/*" 2>/dev/null || true; } | cut -d/ -f3
}
cleanup() {
  local rc=$? pids m i
  trap - EXIT INT TERM
  set +e
  pids="$(root_pids)"
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086 # one pid a word
    kill -TERM $pids 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10; do
      [ -z "$(root_pids)" ] && break
      sleep 1
    done
    pids="$(root_pids)"
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
    sleep 1
  fi
  for m in $(mounts_under); do
    umount "$m" 2>/dev/null || umount -l "$m" || echo "fresh-root: could not unmount $m" >&2
  done
  if [ -n "$(mounts_under)" ]; then
    echo "fresh-root: mounts remain under $work (below); it is left in place:" >&2
    mounts_under >&2
  elif [ $keep = 1 ]; then
    echo "fresh-root: the roots are kept in $work (delete with: rm -rf --one-file-system $work)"
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "fresh-root: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# --- Timing --------------------------------------------------------------------------------
# Each phase's wall time, and the CPU time that other processes (not this test's) used
# meanwhile, in cores: the machine's busy time from /proc/stat less this script's children.
ncores="$(nproc)"
clk="$(getconf CLK_TCK)"
ph_name=()
ph_secs=()
ph_others=()
pkgs=() # README's packages that the README root gets (less --drop)
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# The CPU seconds of this script's finished children (cutime + cstime of /proc/$$/stat).
children_cpu() { cut -d')' -f2- "/proc/$$/stat" | awk -v hz="$clk" '{ print ($14 + $15) / hz }'; }
fmt_secs() {
  local s=$1
  if [ "$s" -ge 60 ]; then echo "$((s / 60)) min $((s % 60)) s"; else echo "$s s"; fi
}
# phase NAME LOG CMD...: runs CMD with its output appended to LOG; on failure prints the
# end of LOG and stops.
phase() {
  local name=$1 log=$2 t0 b0 c0 dt others rc=0
  shift 2
  say "$name ..."
  t0=$SECONDS
  b0="$(cpu_busy)"
  c0="$(children_cpu)"
  echo "=== $name ($(date -u +%FT%TZ))" >>"$log"
  "$@" >>"$log" 2>&1 </dev/null || rc=$?
  dt=$((SECONDS - t0))
  others="$(awk -v b0="$b0" -v b1="$(cpu_busy)" -v c0="$c0" -v c1="$(children_cpu)" -v hz="$clk" -v dt="$dt" \
    'BEGIN { if (dt < 1) { print "-"; exit } o = ((b1 - b0) / hz - (c1 - c0)) / dt; if (o < 0) o = 0; printf "%.1f", o }')"
  ph_name+=("$name")
  ph_secs+=("$dt")
  ph_others+=("$others")
  if [ $rc != 0 ]; then
    tail -n 40 "$log" | sed 's/^/  | /' >&2
    case "$name" in "README root"*)
      echo "fresh-root: the README root has only README's prerequisites: Go on the PATH, the CA certificates and apt-get install ${pkgs[*]}" >&2
      ;;
    esac
    die "$name: exit status $rc after $(fmt_secs "$dt") (the end of its log is above; all of it: $log)"
  fi
  say "$name: $(fmt_secs "$dt")"
}
summary() {
  local i
  echo "fresh-root: summary: commit ${commit:0:12}, $(date -u +%F), $ncores cores; host Go $gover; mirror $mirror"
  echo "  (others: the CPU that other processes used meanwhile, in cores of $ncores)"
  for i in "${!ph_name[@]}"; do
    printf '  %-72s %12s   others %s\n' "${ph_name[i]}" "$(fmt_secs "${ph_secs[i]}")" "${ph_others[i]}"
  done
  printf '  %-72s %12s\n' "total" "$(fmt_secs "$SECONDS")"
}

# --- The roots -----------------------------------------------------------------------------
# The pristine root: the cached tarball when it is younger than 7 days and from the same
# mirror, else a new debootstrap.
base_root() {
  if [ $refresh = 0 ] && [ -s "$base_tar" ] && [ "$(cat "$base_tar.mirror" 2>/dev/null)" = "$mirror" ] &&
    [ -n "$(find "$base_tar" -mtime -7)" ]; then
    say "base root: $base_tar (debootstrap of $(date -u -r "$base_tar" +%F); --refresh makes a new one)"
    return
  fi
  phase "base root: debootstrap --variant=minbase bookworm" "$logs/base.log" \
    debootstrap --variant=minbase --arch="$arch" bookworm "$work/base" "$mirror"
  [ -z "$(mounts_under)" ] || die "debootstrap left mounts under $work"
  tar -C "$work/base" --numeric-owner -cpf "$base_tar.tmp" .
  mv "$base_tar.tmp" "$base_tar"
  echo "$mirror" >"$base_tar.mirror"
  rm -rf --one-file-system "$work/base"
}

bind_mount() { # bind_mount SRC DST [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  [ "${3:-}" != ro ] || mount -o remount,bind,ro "$2"
}
# new_root DIR: a fresh root from the tarball, with the host's resolver settings and Go
# (/usr/local/go), and /proc, /sys, /dev, /dev/pts and /dev/shm mounted.
new_root() {
  local root=$1
  mkdir -p "$root"
  tar -C "$root" --numeric-owner -xpf "$base_tar"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  # dpkg without fsync, as in Docker's debian:12 image (docker-apt-speedup): a throwaway
  # root need not survive a power cut, and the packages install in half the time.
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/unsafe-io"
  mkdir -p "$root/usr/local"
  cp -a "$goroot" "$root/usr/local/go"
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  bind_mount /dev "$root/dev"
  bind_mount /dev/pts "$root/dev/pts"
  mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
}
# put_certs DIR [local]: the host's CA certificates: the bundle, the directory, and the
# local CAs that update-ca-certificates adds to the bundle when a package rebuilds it. With
# local, only the local CAs: a machine without the package ca-certificates (--drop).
put_certs() {
  local root=$1
  mkdir -p "$root/usr/local/share/ca-certificates"
  [ ! -d /usr/local/share/ca-certificates ] || cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  [ "${2:-}" != local ] || return 0
  mkdir -p "$root/etc/ssl/certs"
  cp -a /etc/ssl/certs/. "$root/etc/ssl/certs/"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
}

# 1. README's prerequisites, then README's commands.
readme_root() {
  local root="$work/readme" log="$logs/readme.log" p d keepit
  # A fresh machine's environment: Go on the PATH, nothing else set.
  local fresh=(HOME=/root LANG=C.UTF-8 PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  for p in make ca-certificates git; do
    keepit=1
    for d in "${drop[@]}"; do [ "$p" != "$d" ] || keepit=0; done
    [ $keepit = 0 ] || pkgs+=("$p")
  done
  [ ${#drop[@]} = 0 ] || say "README root: --drop ${drop[*]}: installing only: ${pkgs[*]:-nothing}"
  new_root "$root"
  # The network's own CAs first, where a machine here has them, so that the package
  # ca-certificates (README's, or a recommendation of git) puts them in its bundle.
  put_certs "$root" local
  phase "README root: apt-get install ${pkgs[*]}" "$log" \
    chroot "$root" /usr/bin/env -i "${fresh[@]}" DEBIAN_FRONTEND=noninteractive \
    bash -c "apt-get update && apt-get install -y ${pkgs[*]}"
  [[ " ${pkgs[*]} " != *" ca-certificates "* ]] || put_certs "$root"
  if chroot "$root" /usr/bin/env -i "${fresh[@]}" bash -c 'command -v cc || command -v gcc || command -v clang' >/dev/null; then
    die "README root: it has a C compiler, so it does not test the build without one"
  fi
  say "README root: no C compiler (cgo off); $(chroot "$root" /usr/local/go/bin/go version)"
  bind_mount "$gitdir" "$root/mnt/orwcfm.git" ro
  phase "README root: git clone (commit ${commit:0:12})" "$log" \
    chroot "$root" /usr/bin/env -i "${fresh[@]}" bash -c \
    "git clone -q --no-hardlinks /mnt/orwcfm.git /root/orwcfm && git -C /root/orwcfm checkout -q --detach $commit"
  umount "$root/mnt/orwcfm.git"
  phase "README root: make demo" "$log" \
    chroot "$root" /usr/bin/env -i -C /root/orwcfm "${fresh[@]}" make demo
  for p in runs/demo/samples/final.png runs/demo/history.jsonl runs/demo/reward.png; do
    [ -s "$root/root/orwcfm/$p" ] || die "README root: make demo passed but wrote no $p"
  done
  local xla
  xla="$(chroot "$root" /root/orwcfm/bin/orw info 2>&1 | grep XLA | tr -s ' ' || true)"
  [[ $xla == *"not compiled in"* ]] || die "README root: orw info should say that XLA is not compiled in (no C compiler), but says: ${xla:-nothing}"
  say "README root: make demo wrote runs/demo/ ($(find "$root/root/orwcfm/runs/demo" -type f | wc -l) files); orw info: $xla"
  if [ $full = 1 ]; then
    phase "README root: make test" "$log" \
      chroot "$root" /usr/bin/env -i -C /root/orwcfm "${fresh[@]}" make test
  fi
}

# 2. docker/Dockerfile's steps in a second root.
# The Dockerfile's instructions, one a line: continuation lines joined, comments dropped.
dockerfile_lines() {
  local line acc=""
  while IFS= read -r line || [ -n "$line" ]; do
    [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
    if [[ $line == *\\ ]]; then
      acc+="${line%\\} "
      continue
    fi
    printf '%s\n' "$acc$line"
    acc=""
  done <"$1"
  [ -z "$acc" ] || printf '%s\n' "$acc"
}
# json_words '["a", "b"]': the strings of a JSON array (without escapes), into words[].
json_words() {
  local s=$1
  words=()
  [[ $s =~ ^\[.*\]$ ]] || die "docker/Dockerfile: expected a JSON array, got: $s"
  while [[ $s =~ \"([^\"\\]*)\"(.*)$ ]]; do
    words+=("${BASH_REMATCH[1]}")
    s=${BASH_REMATCH[2]}
  done
}
declare -A img_env=() arg_env=()
# expand STRING: $NAME and ${NAME} replaced from the ENV and ARG values so far.
expand() {
  local s=$1 out="" name
  while [[ $s =~ ^([^\$]*)\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(.*)$ ]]; do
    name=${BASH_REMATCH[3]:-${BASH_REMATCH[4]}}
    out+="${BASH_REMATCH[1]}${img_env[$name]-${arg_env[$name]-}}"
    s=${BASH_REMATCH[5]}
  done
  printf '%s' "$out$s"
}
env_list() { # env_list [args]: NAME=VALUE words for env -i
  local k
  for k in "${!img_env[@]}"; do echo "$k=${img_env[$k]}"; done
  if [ "${1:-}" = args ]; then
    for k in "${!arg_env[@]}"; do [ -n "${img_env[$k]+x}" ] || echo "$k=${arg_env[$k]}"; done
  fi
}
# The build context: the commit's files less those docker/Dockerfile.dockerignore names.
make_context() {
  local ctx=$1 pat m
  mkdir -p "$ctx"
  git -C "$repo" archive "$commit" | tar -C "$ctx" -xf -
  [ -f "$ctx/docker/Dockerfile.dockerignore" ] || return 0
  while IFS= read -r pat || [ -n "$pat" ]; do
    pat="${pat%%#*}"
    pat="$(echo "$pat" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//; s|^/||; s|/$||')"
    [ -n "$pat" ] || continue
    case "$pat" in
      '!'*) die "docker/Dockerfile.dockerignore: exceptions (!) are not supported by this test" ;;
      '**/'*) find "$ctx" -name "${pat#\*\*/}" -prune -exec rm -rf {} + ;;
      *) while IFS= read -r m; do rm -rf "$m"; done < <(compgen -G "$ctx/$pat" || true) ;;
    esac
  done <"$ctx/docker/Dockerfile.dockerignore"
}
# docker_copy ROOT WORKDIR SRC... DEST, as COPY does: a directory's contents, files by name.
docker_copy() {
  local root=$1 workdir=$2 dest src s
  shift 2
  [ $# -ge 2 ] || die "docker/Dockerfile: COPY needs a source and a destination"
  dest=$(expand "${!#}")
  [[ $dest == /* ]] || dest="${workdir%/}/$dest"
  local todir=0
  { [[ $dest == */ ]] || [ $# -gt 2 ]; } && todir=1
  while [ $# -gt 1 ]; do
    src=$(expand "$1")
    shift
    case "$src" in --* | *[*?[]*) die "docker/Dockerfile: COPY $src is not supported by this test (no flags, no wildcards)" ;; esac
    s="$ctx/$src"
    if [ -d "$s" ]; then
      mkdir -p "$root$dest"
      cp -a "$s/." "$root$dest/"
    elif [ -e "$s" ]; then
      if [ $todir = 1 ]; then
        mkdir -p "$root$dest"
        cp -a "$s" "$root$dest/"
      else
        mkdir -p "$(dirname "$root$dest")"
        cp -a "$s" "$root$dest"
      fi
    else
      die "docker/Dockerfile: COPY $src: not in the build context (or .dockerignore leaves it out)"
    fi
  done
}
free_port() {
  local p
  for p in $(seq 18888 18988); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
      echo "$p"
      return
    }
  done
  die "no free port in 18888-18988"
}
recipe_root() {
  local root="$work/recipe" log="$logs/recipe.log" line instr rest workdir=/ name value w port url
  local shell=(/bin/sh -c) cmd=() runenv=() k
  ctx="$work/context"
  make_context "$ctx"
  new_root "$root"
  put_certs "$root"
  # What Docker gives every step: PATH, HOME, HOSTNAME. The build argument that replaces
  # the Go download: the root has the host's Go in /usr/local/go.
  img_env=([PATH]=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin [HOME]=/root [HOSTNAME]=orwcfm)
  local -A build_args=([GO_BOOTSTRAP]=none)
  while IFS= read -r line; do
    instr="${line%%[[:space:]]*}"
    rest="${line#"$instr"}"
    rest="${rest#"${rest%%[![:space:]]*}"}"
    rest="${rest%"${rest##*[![:space:]]}"}"
    case "${instr^^}" in
      FROM) [ "$rest" = debian:12 ] || die "docker/Dockerfile is FROM $rest; this test builds Debian 12 (bookworm) roots" ;;
      SHELL)
        json_words "$rest"
        shell=("${words[@]}")
        ;;
      WORKDIR)
        workdir="$(expand "$rest")"
        [[ $workdir == /* ]] || workdir="/$workdir"
        mkdir -p "$root$workdir"
        ;;
      ARG)
        name="${rest%%=*}"
        value=""
        [[ $rest != *=* ]] || value="$(expand "${rest#*=}")"
        arg_env[$name]="${build_args[$name]-$value}"
        ;;
      ENV)
        read -ra words <<<"$rest"
        if [[ ${words[0]} != *=* ]]; then
          img_env[${words[0]}]="$(expand "${rest#"${words[0]}"}" | sed 's/^[[:space:]]*//')"
        else
          for w in "${words[@]}"; do
            value="$(expand "${w#*=}")"
            value="${value#\"}"
            img_env[${w%%=*}]="${value%\"}"
          done
        fi
        ;;
      COPY)
        read -ra words <<<"$rest"
        docker_copy "$root" "$workdir" "${words[@]}"
        ;;
      RUN)
        [[ $rest != \[* ]] || die "docker/Dockerfile: RUN in exec form is not supported by this test"
        mapfile -t runenv < <(env_list args)
        phase "recipe root: RUN $rest" "$log" \
          chroot "$root" /usr/bin/env -i -C "$workdir" "${runenv[@]}" "${shell[@]}" "$rest"
        ;;
      EXPOSE) ;;
      CMD)
        json_words "$rest"
        cmd=("${words[@]}")
        ;;
      *) die "docker/Dockerfile: $instr is not supported by this test (it runs FROM, SHELL, WORKDIR, ARG, ENV, COPY, RUN, EXPOSE, CMD)" ;;
    esac
  done < <(dockerfile_lines "$ctx/docker/Dockerfile")
  [ ${#cmd[@]} -gt 0 ] || die "docker/Dockerfile has no CMD"
  # The image's command, on 127.0.0.1 and a free port (the host's network is shared).
  port="$(free_port)"
  for k in "${!cmd[@]}"; do
    case "${cmd[k]}" in
      --ip=*) cmd[k]="--ip=127.0.0.1" ;;
      --port=*) cmd[k]="--port=$port" ;;
    esac
  done
  mapfile -t runenv < <(env_list)
  say "recipe root: CMD ${cmd[*]}"
  local t0=$SECONDS srvlog="$logs/recipe-server.log"
  chroot "$root" /usr/bin/env -i -C "$workdir" "${runenv[@]}" "${cmd[@]}" >"$srvlog" 2>&1 </dev/null &
  local server=$!
  # The URL with the token, as the server prints it; then /api (no token) and the kernel
  # specs (with it), fetched by the root's python3 over localhost.
  url=""
  while [ $((SECONDS - t0)) -lt 180 ]; do
    kill -0 "$server" 2>/dev/null || {
      sed 's/^/  | /' "$srvlog" >&2
      die "recipe root: the notebook server exited (its output is above)"
    }
    url="$(grep -oE "http://127\.0\.0\.1:$port/[^ ]*token=[0-9a-f]+" "$srvlog" | head -n 1 || true)"
    [ -z "$url" ] || break
    sleep 1
  done
  [ -n "$url" ] || {
    sed 's/^/  | /' "$srvlog" >&2
    die "recipe root: the notebook server printed no URL within 180 s"
  }
  local check
  check="$(chroot "$root" /usr/bin/env -i python3 - "$port" "${url##*token=}" 2>&1 <<'EOF'
import json, sys, urllib.request
port, token = sys.argv[1], sys.argv[2]
base = "http://127.0.0.1:%s" % port
api = json.load(urllib.request.urlopen(base + "/api", timeout=10))
specs = json.load(urllib.request.urlopen(base + "/api/kernelspecs?token=" + token, timeout=10))
print("notebook server %s, kernels: %s" % (api.get("version"), " ".join(sorted(specs["kernelspecs"]))))
sys.exit(0 if "gonb" in specs["kernelspecs"] else 3)
EOF
)" || {
    printf '  | %s\n' "$check" >&2
    sed 's/^/  | /' "$srvlog" >&2
    die "recipe root: the notebook server does not answer on 127.0.0.1:$port or lists no gonb kernel (above)"
  }
  ph_name+=("recipe root: the notebook server answers")
  ph_secs+=("$((SECONDS - t0))")
  ph_others+=("-")
  say "recipe root: $check (after $((SECONDS - t0)) s)"
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}

say "commit ${commit:0:12}; host Go $gover ($goroot); mirror $mirror; work directory $work; logs $logs"
say "load average $(cut -d' ' -f1-3 /proc/loadavg) on $ncores cores"
base_root
[ "$only" = recipe ] || readme_root
[ "$only" = readme ] || recipe_root
summary | tee "$logs/summary.txt"
say "all passed"
