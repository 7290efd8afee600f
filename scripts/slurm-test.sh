#!/usr/bin/env bash
# The Slurm test of orw sweep: a real Slurm (Debian's slurmctld, slurmd and munge) on
# this machine, runs a 2x2 job array emitted by `orw sweep emit slurm`; in the middle
# of the runs the node is killed as a preempted machine dies (slurmd, the step daemons
# and the orw workers, all by SIGKILL); Slurm notices the dead node, requeues the tasks
# (the script marks them requeueable), and when the node is back they resume their run
# directories. `orw collect` must then gather all four runs, with results equal, number
# for number, to those of the same sweep run here without interruption.
#
#   scripts/slurm-test.sh            (as root; installs slurmctld slurmd slurm-client
#                                     munge with apt-get when they are missing)
#
# Everything runs in private network, PID and mount namespaces (unshare): the daemons
# see only the loopback interface, and when the script ends every process it started
# ends with it. It takes about two minutes on two cores (most of it training the eight
# runs: four for the reference, four on Slurm). Exit status 0 when the test passed.
set -euo pipefail
cd "$(dirname "$0")/.."

now() { date +%s; }
log() { echo "slurm-test: $*"; }
fail() {
  echo "slurm-test: FAILED: $*" >&2
  exit 1
}

if [ "${1:-}" != "--inside" ]; then
  [ "$(id -u)" = 0 ] || fail "run it as root (the Slurm daemons and the namespaces need it)"
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurmctld slurmd slurm-client munge"
    pkgs=(slurmctld slurmd slurm-client munge)
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null; } ||
      fail "cannot install ${pkgs[*]} with apt-get"
  fi
  command -v unshare >/dev/null || fail "unshare (util-linux) is missing"
  source scripts/env.sh
  work=$(mktemp -d /tmp/orw-slurm-test.XXXXXX)
  log "work directory $work"
  log "building orw"
  go build -o "$work/orw" ./cmd/orw || fail "go build failed"
  # New network, PID and mount namespaces: loopback only, and --kill-child ends every
  # process of the test with it.
  status=0
  unshare --net --pid --fork --mount-proc --kill-child "$0" --inside "$work" || status=$?
  if [ "$status" = 0 ]; then
    rm -rf "$work"
  else
    log "left $work for a look (logs in $work/state/log, $work/slurm/*/slurm-logs)"
  fi
  exit "$status"
fi

# --- inside the namespaces ---
work=$2
orw="$work/orw"
start=$(now)
ip link set lo up
# glibc's getaddrinfo (AI_ADDRCONFIG) resolves nothing while the only IPv4 address is
# 127.0.0.1; a second loopback address makes 127.0.0.1 resolvable for Slurm.
ip addr add 127.0.0.2/8 dev lo
if [ "$(ip -o addr show | grep -vc ' lo ')" != 0 ]; then
  fail "the namespace has an interface besides loopback"
fi

state="$work/state"
mkdir -p "$state"/{munge,ctld,spool,log}
chmod 700 "$state/munge"
head -c 1024 /dev/urandom >"$state/munge/munge.key"
chmod 400 "$state/munge/munge.key"
munged --force --key-file="$state/munge/munge.key" --socket="$state/munge/munge.socket" \
  --pid-file="$state/munge/munged.pid" --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed" ||
  fail "munged did not start"

export SLURM_CONF="$state/slurm.conf"
cat >"$SLURM_CONF" <<EOF
# One node, this machine, on loopback. Short timeouts so that a dead node is noticed
# and its tasks requeued in seconds; cred_expire is also how long a requeued task waits.
ClusterName=orwtest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket,cred_expire=5
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=5
MessageTimeout=2
InactiveLimit=0
KillWait=2
MinJobAge=600
JobRequeue=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start (see $state/log/slurmctld.log)"
slurmd -f "$SLURM_CONF" -N localhost || fail "slurmd did not start (see $state/log/slurmd.log)"

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every second until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local t0
  t0=$(now)
  until "$@" >/dev/null 2>&1; do
    [ $(($(now) - t0)) -lt "$limit" ] || fail "$what: not after ${limit} s"
    sleep 1
  done
}
node_is() { sinfo -h -n localhost -o %T | grep -qE "^($1)"; }
wait_for 30 "the node is up" node_is "idle"
log "Slurm is up: $(sinfo -h -o '%P %a %D %T %N')"

# A 2x2 sweep of tiny toy runs (about eight seconds each on an idle machine).
cat >"$work/grid.yaml" <<EOF
name: slurm-test
task: toy2d
steps: 1200
seed: 1
tau: [0.5, 2]
alpha: [0, 0.5]
batch: 64
refresh-every: 50
eval-every: 200
eval-samples: 256
checkpoint-every: 50
normalize-weights: true
EOF

t=$(now)
log "reference: the same sweep without Slurm, uninterrupted"
"$orw" sweep run "$work/grid.yaml" --out "$work/ref" -j 2 >"$work/ref.log" 2>&1 || { cat "$work/ref.log"; fail "the reference sweep failed"; }
log "reference done in $(($(now) - t)) s"

"$orw" sweep emit slurm "$work/grid.yaml" --out "$work/slurm" --orw "$orw" --dir "$work" --cpus 1 -o "$work/job.sh" ||
  fail "orw sweep emit slurm failed"
job=$(sbatch --parsable "$work/job.sh") || fail "sbatch refused the emitted script"
log "submitted job array $job"

# done_steps INDEX: the step of the last checkpoint of point INDEX.
done_steps() { "$orw" sweep list "$work/grid.yaml" --out "$work/slurm" | awk -v i="$1" '$1 == i { print $(NF-1) }'; }
mid_run() { local d; d=$(done_steps 0); [ -n "$d" ] && [ "$d" -ge 100 ] && [ "$d" -lt 1000 ]; }
wait_for 120 "task 0 reaches step 100" mid_run
running=$(squeue -h -j "$job" -t RUNNING -o %i | tr '\n' ' ')
before=$(for i in 0 1 2 3; do echo -n "$i:$(done_steps $i) "; done)
log "tasks running: $running; checkpointed steps: $before"

# The node dies: slurmd, the step daemons and the workers, all by SIGKILL at once.
mapfile -t victims < <(
  cat "$state/slurmd.pid"
  pgrep -x slurmstepd || true
  pgrep -f "$orw sweep run" || true
)
log "killing the node: SIGKILL to ${#victims[@]} processes (slurmd, slurmstepd, orw)"
kill -9 "${victims[@]}"
t=$(now)
tasks_pending() { [ -z "$(squeue -h -j "$job" -t RUNNING,COMPLETING -o %i)" ] && node_is "down"; }
wait_for 90 "Slurm marks the node down and requeues its tasks" tasks_pending
log "after $(($(now) - t)) s: node $(sinfo -h -n localhost -o %T), tasks $(squeue -h -j "$job" -o '%i:%T:%r' | tr '\n' ' ')"
grep -h "requeue" "$state/log/slurmctld.log" | sed 's/^/  slurmctld: /'

slurmd -f "$SLURM_CONF" -N localhost || fail "slurmd did not restart"
log "node restarted"
array_done() { [ -z "$(squeue -h -j "$job" -o %i)" ]; }
wait_for 240 "the job array finishes" array_done
log "job array done, $(($(now) - start)) s since the start"

requeued=0
for i in 0 1 2 3; do
  info=$(scontrol show job "${job}_$i")
  st=$(echo "$info" | grep -o 'JobState=[A-Z]*')
  rs=$(echo "$info" | grep -o 'Restarts=[0-9]*')
  log "task $i: $st $rs"
  [ "$st" = "JobState=COMPLETED" ] || fail "task $i ended $st (log: $(ls "$work"/slurm/slurm-test/slurm-logs/*_"$i".out))"
  if [ "$rs" != "Restarts=0" ]; then
    requeued=$((requeued + 1))
    out=$(ls "$work"/slurm/slurm-test/slurm-logs/*_"$i".out)
    grep -q "resuming .* at step [1-9]" "$out" || fail "task $i was requeued but did not resume its run (log $out)"
    grep "resuming" "$out" | sed 's/^/  /'
  fi
done
[ "$requeued" -ge 1 ] || fail "no task was requeued"

"$orw" collect "$work/slurm/slurm-test" >"$work/collect.log" 2>&1 || { cat "$work/collect.log"; fail "orw collect failed"; }
cat "$work/collect.log"
[ "$(tail -n +2 "$work/slurm/slurm-test/table.csv" | wc -l)" = 4 ] || fail "the collected table does not have 4 rows"
# Every column but wall_seconds and run_dir (the last two) must be equal, as text: the
# numbers are written in the shortest form that reads back exactly.
if ! diff <(cut -d, -f1-13 "$work/ref/slurm-test/table.csv") <(cut -d, -f1-13 "$work/slurm/slurm-test/table.csv"); then
  fail "the Slurm sweep's table differs from the uninterrupted one's (above)"
fi
log "the table equals the uninterrupted sweep's in all $(head -1 "$work/ref/slurm-test/table.csv" | cut -d, -f1-13 | tr ',' '\n' | wc -l) compared columns"
for d in "$work"/slurm/slurm-test/*/config.json; do
  d=$(dirname "$d")
  n=$(find "$d" -maxdepth 1 -name 'events.out.tfevents.*' | wc -l)
  [ "$n" -ge 1 ] || fail "$d has no TensorBoard event file"
  log "$(basename "$d"): $n TensorBoard event files"
done

scancel "$job" 2>/dev/null || true
log "passed in $(($(now) - start)) s ($requeued tasks requeued after the node was killed)"
echo "slurm-test: 1 passed, 0 failed"
