#!/usr/bin/env bash
# The GPU check: runs orwcfm on an NVIDIA GPU through XLA from the prebuilt binaries of
# `make gpu-bundle`, on a machine that has no Go toolchain and no network (docs/gpu.md).
#
#   scripts/gpu-check.sh [options] [PLUGIN.so]
#
# In order, each with its own time limit (a share of --budget):
#   1. finds a PJRT CUDA plugin already on the machine: the path given (argument,
#      --plugin or ORW_PJRT_PLUGIN), else go-xla's directories (PJRT_PLUGIN_LIBRARY_PATH,
#      ~/.local/lib/go-xla{,/nvidia}, /usr/local/lib/go-xla{,/nvidia}, LD_LIBRARY_PATH),
#      else JAX's jax_plugins/xla_cuda*/xla_cuda_plugin.so in any site-packages;
#   2. orw info: starts the backend (GOMLX_BACKEND=xla:/absolute/path/to/plugin.so);
#   3. the bundled test binaries (the tests that run on any backend), with tf32=false so
#      that float32 matrix products are as exact as on a CPU;
#   4. orw bench, every workload: ms per round;
#   5. the main job, orw finetune --task mnist-even --json, from a fresh run directory;
#   6. only with --pretrain-unet N: orw pretrain --task mnist --model unet --steps N (the
#      shipped pixel U-Net's recipe; its full schedule is 6000 steps), then orw eval of
#      the new checkpoint (OUT/mnist-unet.ckpt) and of the shipped one (the MNIST files
#      come from a bundle made with GPU_BUNDLE_MNIST=1, or from ORW_MNIST_DIR);
# then prints one JSON object with everything on stdout (also written to OUT/summary.json;
# each step's output is in OUT/*.log). Progress goes to stderr.
#
# Options (environment variables in brackets):
#   --plugin PATH      the PJRT CUDA plugin to use [ORW_PJRT_PLUGIN]
#   --go               dry run on the pure-Go CPU backend: no plugin, no GPU, small sizes
#   --bundle PATH      bin/gpu-bundle or bin/gpu-bundle.tar.xz (default: whichever exists)
#                      [ORW_GPU_BUNDLE]
#   --out DIR          output directory (default runs/gpu-check) [ORW_GPU_OUT]
#   --budget SECONDS   time for steps 2-5 together (default 480; --go: 1200) [ORW_GPU_BUDGET]
#                      shared 10/25/20/45% (info/tests/bench/finetune); the test binaries
#                      take the tests' share in turn
#   --steps N          finetune steps (default 2000, the task's; --go: 30) [ORW_GPU_STEPS]
#   --bench-rounds N   timed rounds per workload (default 5; --go: 1) [ORW_GPU_BENCH_ROUNDS]
#   --tests REGEXP     run only the tests matching REGEXP (-test.run) [ORW_GPU_TESTS]
#   --no-tests         skip step 3
#   --tf32             keep TF32 on in the tests too
#   --pretrain-unet N  add step 6 with N steps [ORW_GPU_PRETRAIN_STEPS]
#   --pretrain-limit S its time limit, outside --budget (default 540) [ORW_GPU_PRETRAIN_LIMIT]
#   --eval-n N         samples of each orw eval in step 6 (default 1000; --go: 64) [ORW_GPU_EVAL_N]
#   -h, --help         this text
#
# Exit status: 0 when every step passed, 1 when a step failed or ran out of time (the
# JSON says which), 2 for a usage error or when there is nothing to run (no bundle, no
# plugin, no GPU).
set -euo pipefail

die() {
  echo "gpu-check: $*" >&2
  exit 2
}
say() { echo "gpu-check: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
check_uint() { # OPTION VALUE MIN: dies unless VALUE is a whole number >= MIN
  if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ]; then
    die "$1 must be a whole number >= $3, got '$2'"
  fi
}

root="$(cd "$(dirname "$0")/.." && pwd)"
plugin="${ORW_PJRT_PLUGIN:-}"
bundle="${ORW_GPU_BUNDLE:-}"
out="${ORW_GPU_OUT:-runs/gpu-check}"
budget="${ORW_GPU_BUDGET:-}"
steps="${ORW_GPU_STEPS:-}"
rounds="${ORW_GPU_BENCH_ROUNDS:-}"
tests_run="${ORW_GPU_TESTS:-}"
pretrain_steps="${ORW_GPU_PRETRAIN_STEPS:-0}"
pretrain_limit="${ORW_GPU_PRETRAIN_LIMIT:-540}"
eval_n="${ORW_GPU_EVAL_N:-}"
run_tests=1
tf32=0
go_backend=0

while [ $# -gt 0 ]; do
  case "$1" in
    --plugin) [ $# -ge 2 ] || die "--plugin needs a path"; plugin="$2"; shift 2 ;;
    --go) go_backend=1; shift ;;
    --bundle) [ $# -ge 2 ] || die "--bundle needs a path"; bundle="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
    --budget) [ $# -ge 2 ] || die "--budget needs seconds"; budget="$2"; shift 2 ;;
    --steps) [ $# -ge 2 ] || die "--steps needs a number"; steps="$2"; shift 2 ;;
    --bench-rounds) [ $# -ge 2 ] || die "--bench-rounds needs a number"; rounds="$2"; shift 2 ;;
    --tests) [ $# -ge 2 ] || die "--tests needs a regular expression"; tests_run="$2"; shift 2 ;;
    --no-tests) run_tests=0; shift ;;
    --tf32) tf32=1; shift ;;
    --pretrain-unet) [ $# -ge 2 ] || die "--pretrain-unet needs a number of steps"; pretrain_steps="$2"; shift 2 ;;
    --pretrain-limit) [ $# -ge 2 ] || die "--pretrain-limit needs seconds"; pretrain_limit="$2"; shift 2 ;;
    --eval-n) [ $# -ge 2 ] || die "--eval-n needs a number"; eval_n="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$plugin" ] || die "two plugins given: $plugin and $1"; plugin="$1"; shift ;;
  esac
done
if [ $go_backend = 1 ]; then
  : "${budget:=1200}" "${steps:=30}" "${rounds:=1}" "${eval_n:=64}"
else
  : "${budget:=480}" "${steps:=2000}" "${rounds:=5}" "${eval_n:=1000}"
fi
check_uint --budget "$budget" 20
check_uint --steps "$steps" 1
check_uint --bench-rounds "$rounds" 1
check_uint --pretrain-unet "$pretrain_steps" 0
check_uint --pretrain-limit "$pretrain_limit" 20
check_uint --eval-n "$eval_n" 1
command -v timeout >/dev/null || die "the 'timeout' command (GNU coreutils) is missing"

# Time limits: shares of the budget for info, tests, bench and finetune.
limit_info=$((budget * 10 / 100))
limit_tests=$((budget * 25 / 100))
limit_bench=$((budget * 20 / 100))
limit_finetune=$((budget * 45 / 100))
if [ $run_tests = 0 ]; then
  limit_finetune=$((limit_finetune + limit_tests))
fi

start_all=$(now)
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# --- The bundle ------------------------------------------------------------------------
if [ -z "$bundle" ]; then
  if [ -f "$root/bin/gpu-bundle/MANIFEST" ]; then
    bundle="$root/bin/gpu-bundle"
  elif [ -f "$root/bin/gpu-bundle.tar.xz" ]; then
    bundle="$root/bin/gpu-bundle.tar.xz"
  else
    die "no bundle: neither $root/bin/gpu-bundle nor $root/bin/gpu-bundle.tar.xz exists; build it with 'make gpu-bundle' on a machine with Go"
  fi
fi
if [ -f "$bundle" ]; then
  case "$bundle" in *.tar.xz) ;; *) die "--bundle $bundle is a file but not a .tar.xz" ;; esac
  say "unpacking $bundle"
  rm -rf "$out/bundle"
  mkdir -p "$out/bundle"
  if command -v xz >/dev/null; then
    tar -C "$out/bundle" -xJf "$bundle" || die "cannot unpack $bundle"
  elif command -v python3 >/dev/null; then # Python's tarfile reads xz without the xz program
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$out/bundle" ||
      die "cannot unpack $bundle"
  else
    die "cannot unpack $bundle: neither xz nor python3 is installed"
  fi
  bundle="$out/bundle/gpu-bundle"
fi
if [ ! -f "$bundle/MANIFEST" ] || [ ! -x "$bundle/orw" ]; then
  die "$bundle is not a bundle of 'make gpu-bundle' (no MANIFEST or orw)"
fi
bundle="$(cd "$bundle" && pwd)"
if command -v sha256sum >/dev/null && [ -f "$bundle/SHA256SUMS" ]; then
  (cd "$bundle" && sha256sum --quiet -c SHA256SUMS) || die "the binaries in $bundle do not match their SHA256SUMS"
fi
orw="$bundle/orw"
mnist="${ORW_MNIST_DIR:-$bundle/mnist}"
if [ "$pretrain_steps" -gt 0 ] && [ ! -f "$mnist/train-images-idx3-ubyte.gz" ]; then
  die "--pretrain-unet needs the MNIST files: none in $mnist; build the bundle with 'make gpu-bundle GPU_BUNDLE_MNIST=1' or set ORW_MNIST_DIR"
fi
say "bundle $bundle ($(tr '\n' ' ' <"$bundle/BUILD" 2>/dev/null))"

# --- The backend: a PJRT CUDA plugin, or the Go backend for a dry run -----------------
site_packages() { # every site-packages directory the Pythons on this machine know of
  local py
  for py in python3 "${VIRTUAL_ENV:-/nonexistent}/bin/python3" "${CONDA_PREFIX:-/nonexistent}/bin/python3" /opt/*/.venv/bin/python3 /opt/*/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    timeout 20 "$py" -c 'import site, sys
for p in site.getsitepackages() + [site.getusersitepackages()] + sys.path:
    print(p)' 2>/dev/null || true
  done
  # Python-less fallbacks.
  compgen -G '/usr/lib/python3*/*-packages' || true
  compgen -G '/usr/local/lib/python3*/*-packages' || true
  compgen -G '/opt/*/lib/python3*/site-packages' || true
  compgen -G '/opt/*/.venv/lib/python3*/site-packages' || true
  compgen -G "$HOME/.local/lib/python3*/site-packages" || true
}

find_plugin() { # prints the absolute path of a CUDA plugin, or nothing
  local d f
  local goxla=()
  if [ -n "${PJRT_PLUGIN_LIBRARY_PATH:-}" ]; then
    IFS=: read -r -a goxla <<<"$PJRT_PLUGIN_LIBRARY_PATH"
  else
    goxla=("$HOME/.local/lib/go-xla" "$HOME/.local/lib/go-xla/nvidia" /usr/local/lib/go-xla /usr/local/lib/go-xla/nvidia)
    IFS=: read -r -a ld <<<"${LD_LIBRARY_PATH:-}"
    goxla+=("${ld[@]}")
  fi
  for d in "${goxla[@]}"; do
    [ -n "$d" ] || continue
    for f in "$d"/pjrt_c_api_cuda*_plugin.so "$d"/pjrt_plugin_cuda*.so "$d"/pjrt-plugin-cuda*.so; do
      [ -f "$f" ] && { readlink -f "$f"; return; }
    done
  done
  while IFS= read -r d; do
    for f in "$d"/jax_plugins/xla_cuda*/xla_cuda_plugin.so; do
      [ -f "$f" ] && { readlink -f "$f"; return; }
    done
  done < <(site_packages | awk '!seen[$0]++')
  say "no plugin in go-xla's or Python's usual places; searching / for jax_plugins (at most 60 s)"
  timeout 60 find / -xdev -path '*/jax_plugins/xla_cuda*/xla_cuda_plugin.so' -print -quit 2>/dev/null || true
}

if [ $go_backend = 1 ]; then
  backend="go:ops_sequential" # the project's default CPU setting (pkg/orw/backends)
  backend_tests="$backend"
  plugin=""
  gpu="none (dry run on the Go backend)"
  say "dry run: GOMLX_BACKEND=$backend (no plugin, no GPU)"
else
  if [ -e /dev/nvidiactl ] || compgen -G '/dev/nvidia[0-9]*' >/dev/null || command -v nvidia-smi >/dev/null; then
    gpu="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1 || true)"
    : "${gpu:=unknown (nvidia-smi gave nothing)}"
    nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
  else
    die "no NVIDIA GPU is visible (no /dev/nvidia* and no nvidia-smi); for a dry run of this script on a CPU use --go"
  fi
  if [ -n "$plugin" ]; then
    [ -f "$plugin" ] || die "the plugin $plugin does not exist"
    plugin="$(readlink -f "$plugin")"
  else
    plugin="$(find_plugin)"
    [ -n "$plugin" ] || die "no PJRT CUDA plugin found: looked for pjrt_c_api_cuda_plugin.so in go-xla's directories (PJRT_PLUGIN_LIBRARY_PATH or ~/.local/lib/go-xla, /usr/local/lib/go-xla, LD_LIBRARY_PATH) and for jax_plugins/xla_cuda*/xla_cuda_plugin.so in every site-packages; give one with --plugin PATH (docs/gpu.md says how to get one)"
  fi
  say "GPU: $gpu"
  say "plugin: $plugin"
  export GOMLX_NO_AUTO_INSTALL=1 # nothing can be downloaded here anyway
  case "$plugin" in
    */jax_plugins/*)
      # A JAX wheel's plugin finds NVIDIA's libraries through its RPATH
      # ($ORIGIN/../../nvidia/*/lib); go-xla's own check looks for nvidia/ beside it
      # (go-xla's layout) and would only warn. XLA still needs ptxas and libdevice.
      export GOPJRT_CUDA_CHECKS=0
      sp="$(dirname "$(dirname "$(dirname "$plugin")")")"
      for d in "$sp"/nvidia/*/lib; do
        [ -d "$d" ] && LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      done
      export LD_LIBRARY_PATH
      if [[ "${XLA_FLAGS:-}" != *--xla_gpu_cuda_data_dir* ]]; then
        for d in "$sp/nvidia/cu13" "$sp/nvidia/cuda_nvcc" /usr/local/cuda; do
          if [ -x "$d/bin/ptxas" ]; then
            export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_gpu_cuda_data_dir=$d"
            break
          fi
        done
      fi
      say "JAX layout: site-packages $sp; XLA_FLAGS=${XLA_FLAGS:-}"
      ;;
  esac
  backend="xla:$plugin"
  backend_tests="$backend"
  [ $tf32 = 1 ] || backend_tests="$backend,tf32=false"
fi

# --- Steps -----------------------------------------------------------------------------
failed=0
results=() # JSON fields, in order

# run_step NAME LIMIT LOG CMD... runs CMD, stdout to LOG.out and stderr to LOG.err, stopping it with SIGINT (orw saves and stops) after LIMIT seconds
# and killing it 30 s later. Sets step_rc, step_secs and step_status (ok, failed, timeout).
run_step() {
  local name="$1" limit="$2" log="$3"
  shift 3
  local t
  t=$(now)
  say "$name (time limit ${limit} s) ..."
  step_rc=0
  timeout --signal=INT --kill-after=30 "$limit" "$@" >"$log.out" 2>"$log.err" || step_rc=$?
  step_secs=$(since "$t")
  case $step_rc in
    0) step_status=ok ;;
    124 | 137) step_status=timeout ;;
    *) step_status=failed ;;
  esac
  if [ "$step_status" = ok ]; then
    say "$name ok ($step_secs s)"
  else
    failed=1
    say "$name $step_status (exit $step_rc after $step_secs s); the last lines of $log.err and .out:"
    tail -n 10 "$log.err" | sed 's/^/    /' >&2
    tail -n 5 "$log.out" | sed 's/^/    /' >&2
  fi
}

json_str() { # a JSON string literal
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\t'/ }"
  s="${s//$'\n'/ }"
  printf '"%s"' "$s"
}

# 2. orw info
run_step "orw info" "$limit_info" "$out/info" env GOMLX_BACKEND="$backend" "$orw" info --json
info_json="$(cat "$out/info.out")"
[ -n "$info_json" ] || info_json=null
results+=("\"info\": $info_json" "\"info_status\": \"$step_status\"")
if [ "$step_status" != ok ]; then
  say "the backend did not start; skipping the other steps"
  run_tests=0
  skip_rest=1
else
  skip_rest=0
fi

# 3. the tests
tests_json=()
if [ $run_tests = 1 ]; then
  mapfile -t manifest <"$bundle/MANIFEST"
  tests_end=$(($(date +%s) + limit_tests)) # the binaries share the tests' time, in order
  for line in "${manifest[@]}"; do
    read -r bin pkg <<<"$line"
    dir="$root/$pkg" # test binaries run in their package's directory, as under go test
    [ -d "$dir" ] || dir="$bundle"
    log="$out/test-${bin%.test}"
    per=$((tests_end - $(date +%s)))
    if [ "$per" -lt 10 ]; then
      say "tests $bin skipped: the tests' time (${limit_tests} s) is used up"
      failed=1
      tests_json+=("{\"binary\": \"$bin\", \"status\": \"skipped\", \"passed\": 0, \"failed\": 0, \"seconds\": 0}")
      continue
    fi
    args=(-test.count=1 -test.v -test.timeout="$((per + 60))s")
    [ -z "$tests_run" ] || args+=(-test.run "$tests_run")
    run_step "tests $bin" "$per" "$log" env -C "$dir" GOMLX_BACKEND="$backend_tests" "$bundle/$bin" "${args[@]}"
    grep -q 'panic: test timed out' "$log.out" && step_status=timeout
    passed=$(grep -c -- '^ *--- PASS' "$log.out" || true)
    nfail=$(grep -c -- '^ *--- FAIL' "$log.out" || true)
    if [ "$step_status" != ok ]; then
      grep -- '--- FAIL' "$log.out" | head -n 10 | sed 's/^/    /' >&2 || true
    fi
    tests_json+=("{\"binary\": \"$bin\", \"status\": \"$step_status\", \"passed\": $passed, \"failed\": $nfail, \"seconds\": $step_secs}")
  done
fi
if [ ${#tests_json[@]} -gt 0 ]; then
  results+=("\"tests\": [$(IFS=,; echo "${tests_json[*]}")]")
else
  results+=("\"tests\": []")
fi

# 4. orw bench, every workload
if [ $skip_rest = 0 ]; then
  run_step "orw bench" "$limit_bench" "$out/bench" env GOMLX_BACKEND="$backend" "$orw" bench --rounds "$rounds"
  bench_lines="$(grep '^{' "$out/bench.out" | paste -sd, - || true)"
  results+=("\"bench\": [${bench_lines}]" "\"bench_status\": \"$step_status\"" "\"bench_seconds\": $step_secs")
fi

# 5. the main job
if [ $skip_rest = 0 ]; then
  run_dir="$out/finetune"
  rm -rf "$run_dir"
  run_step "orw finetune --task mnist-even (--steps $steps)" "$limit_finetune" "$out/finetune" \
    env GOMLX_BACKEND="$backend" "$orw" finetune --task mnist-even --json --quiet --steps "$steps" --out "$run_dir"
  ft_json="$(cat "$out/finetune.out")"
  done_steps=$(grep '"kind":"train"' "$run_dir/history.jsonl" 2>/dev/null | tail -n 1 | sed -n 's/.*"step":\([0-9]*\).*/\1/p')
  results+=("\"finetune\": ${ft_json:-null}" "\"finetune_status\": \"$step_status\""
    "\"finetune_seconds\": $step_secs" "\"finetune_steps_done\": ${done_steps:-0}" "\"finetune_steps\": $steps")
fi

# 6. the pixel U-Net's pretraining, on request
if [ $skip_rest = 0 ] && [ "$pretrain_steps" -gt 0 ]; then
  ckpt="$out/mnist-unet.ckpt"
  rm -rf "$ckpt" "$ckpt.state"
  run_step "orw pretrain --task mnist --model unet --steps $pretrain_steps" "$pretrain_limit" "$out/pretrain" \
    env GOMLX_BACKEND="$backend" "$orw" pretrain --task mnist --data "$mnist" --model unet --steps "$pretrain_steps" --out "$ckpt"
  results+=("\"pretrain_unet_status\": \"$step_status\"" "\"pretrain_unet_seconds\": $step_secs" "\"pretrain_unet_steps\": $pretrain_steps")
  if [ "$step_status" = ok ]; then
    for m in "$ckpt" unet; do
      name=$([ "$m" = unet ] && echo shipped || echo new)
      run_step "orw eval --task mnist --model $m" 180 "$out/eval-$name" \
        env GOMLX_BACKEND="$backend" "$orw" eval --task mnist --model "$m" -n "$eval_n" --json
      ev="$(cat "$out/eval-$name.out")"
      results+=("\"eval_unet_$name\": ${ev:-null}")
    done
  fi
fi

results=("\"backend\": $(json_str "$backend")" "\"gpu\": $(json_str "$gpu")" "\"dry_run\": $([ $go_backend = 1 ] && echo true || echo false)"
  "\"budget_seconds\": $budget" "${results[@]}" "\"all_passed\": $([ $failed = 0 ] && echo true || echo false)"
  "\"wall_seconds\": $(since "$start_all")")
summary="{$(IFS=,; echo "${results[*]}")}"
if command -v python3 >/dev/null && python3 -c 'import json, sys; json.loads(sys.stdin.read())' <<<"$summary" 2>/dev/null; then
  summary="$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.stdin.read()), indent=2))' <<<"$summary")"
fi
printf '%s\n' "$summary" | tee "$out/summary.json"
say "summary in $out/summary.json; logs in $out/*.out, $out/*.err"
exit "$failed"
