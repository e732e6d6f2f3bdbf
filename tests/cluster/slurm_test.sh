#!/usr/bin/env bash
# The workflow on a real one-node Slurm cluster started on this machine, through
# profiles/slurm. Run it with `make slurm-test` or
# `JAXAUDIO_SLURM_TEST=1 .venv/bin/python -m pytest -q tests/cluster/test_slurm.py -s`.
# Needs root and a Debian/Ubuntu system (apt-get installs slurm-wlm and munge if missing);
# leaves nothing running and changes nothing outside one temporary folder (besides the
# packages): munged, slurmctld and slurmd run with a key, socket, slurm.conf, state and logs
# of their own there, on ports 16817/16818, so a Slurm or munge already on the machine is
# left alone. The pids of the three daemons are recorded and exactly those are stopped on
# exit, after every job of this private cluster has been cancelled.
#
# Phases, each with its wall time and PASS/FAIL lines:
#   1 setup    packages, munged, slurmctld, slurmd; the node is idle
#   2 local    the tiny config (.test/config/config.yaml + tests/cluster/config.yaml) with
#              `--cores 2`: the reference
#   3 slurm    the same config through `--profile profiles/slurm`: every rule ran as a Slurm
#              job that ended COMPLETED, and the outputs equal the local run's
#   4 failure  a manifest with a truncated WAV and data.on_bad_file: error: the features job
#              FAILS inside Slurm, Snakemake reports it with the job's Slurm log, exits non-zero
#   5 cancel   a longer training job is scancel'led while RUNNING (after a checkpoint);
#              Snakemake exits non-zero; `--rerun-incomplete` completes the job, which resumes
#              from its checkpoint
#
# Job states: the plugin runs with `--slurm-status-command squeue`, and slurm.conf keeps
# finished jobs in slurmctld for an hour (MinJobAge=3600; the plugin falls back to sacct when
# MinJobAge < 3 x --slurm-init-seconds-before-status-checks). The other way, real accounting
# (MariaDB + slurmdbd), makes `sacct` work but adds a database server to install, initialise
# and stop (about a minute and many more packages) while testing nothing more of the profile
# or the workflow. Without either, the plugin's sacct queries fail and a run hangs silently.
# The evidence is therefore `squeue --states=all` (what the plugin itself reads),
# `scontrol show job` (exit codes) and slurmctld's log.
#
# Environment: JAXAUDIO_PYTHON (default .venv/bin/python), JAXAUDIO_SLURM_KEEP=1 keeps the
# temporary folder (it is kept anyway when a check fails).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=${JAXAUDIO_PYTHON:-$ROOT/.venv/bin/python}
W=$(mktemp -d "${TMPDIR:-/tmp}/jaxaudio-slurm.XXXXXX")
chmod 755 "$W"
export SLURM_CONF=$W/etc/slurm.conf
HOST=$(hostname -s)
CTLD_PORT=16817
SLURMD_PORT=16818

FAILURES=0
DAEMON_PIDS=()   # munged, slurmctld, slurmd: started here, stopped here
BG_PID=""        # a Snakemake started in the background (phase 5)

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILURES=$((FAILURES + 1)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { local ms=$1; printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
T_START=$(now_ms)
TIMES=()
phase() { PHASE=$1; PHASE_T=$(now_ms); echo; echo "=== phase $1: $2 ($(date +%T))"; }
phase_end() {
    local line
    line="TIME phase $PHASE: $(secs $(($(now_ms) - PHASE_T))) s"
    echo "$line"
    TIMES+=("$line")
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    echo
    echo "=== cleanup"
    if [[ -n $BG_PID ]] && kill -0 "$BG_PID" 2>/dev/null; then
        kill "$BG_PID" 2>/dev/null
        wait "$BG_PID" 2>/dev/null
    fi
    if ((${#DAEMON_PIDS[@]})) && scontrol ping >/dev/null 2>&1; then
        # every job on this private cluster is ours: cancel them, wait for them to go
        scancel --user="$(id -un)" 2>/dev/null
        for _ in $(seq 60); do
            [[ -z $(squeue --noheader --states=PD,R,CG,S 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
    local i pid
    for ((i = ${#DAEMON_PIDS[@]} - 1; i >= 0; i--)); do # slurmd, slurmctld, munged
        pid=${DAEMON_PIDS[i]}
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        echo "stopped pid $pid"
    done
    if ((rc == 0 && FAILURES == 0)) && [[ ${JAXAUDIO_SLURM_KEEP:-0} != 1 ]]; then
        rm -rf "$W"
    else
        echo "kept $W (logs: $W/log, runs: $W/local $W/slurm $W/bad)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

die() { fail "$*"; exit 1; }

# ---------------------------------------------------------------------------------------
phase "1 setup" "slurm-wlm + munge, one node ($HOST) under $W"
[[ $(id -u) == 0 ]] || die "needs root (apt-get, munged and slurmd run as root here)"
"$PY" -c "import snakemake_executor_plugin_slurm" 2>/dev/null \
    || die "snakemake-executor-plugin-slurm missing in $PY: make install (or pip install -e '.[slurm]')"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge) \
        >"$W/apt.log" 2>&1 || die "apt-get install slurm-wlm munge failed: $(tail -3 "$W/apt.log")"
fi
echo "$(slurmctld -V), $(munged -V 2>&1 | head -1)"

mkdir -p "$W"/{bin,etc,log,state,spool,run,munge}
# Each job runs its command with `srun`, which the jobstep plugin
# (snakemake-executor-plugin-slurm-jobstep 0.6.1) starts in an environment stripped of every
# SLURM_* variable, SLURM_CONF included: a real node finds slurm.conf at its default place
# (/etc/slurm, or /run/slurm/conf when configless), this cluster's is under $W. So `srun` on
# the PATH the jobs inherit is a wrapper that puts SLURM_CONF back.
printf '#!/bin/sh\nSLURM_CONF=%s exec %s "$@"\n' "$SLURM_CONF" "$(command -v srun)" >"$W/bin/srun"
chmod 755 "$W/bin/srun"
export PATH=$W/bin:$PATH
chmod 700 "$W/munge"
dd if=/dev/urandom of="$W/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$W/munge/munge.key"
MUNGE_SOCKET=$W/munge/munge.socket
NCPU=$(nproc)
MEM_MB=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10)) # 80 % for jobs
# The node as slurmd sees it (CPUs, sockets, cores, threads); memory set below.
NODE_HW=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //' -e 's/ RealMemory=[0-9]*//')
cat >"$SLURM_CONF" <<EOF
# One-node test cluster of tests/cluster/slurm_test.sh (no GPUs, no accounting).
ClusterName=jaxaudio-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/run/slurmctld.pid
SlurmdPidFile=$W/run/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Finished jobs stay visible to squeue / scontrol for an hour (the plugin reads squeue).
MinJobAge=3600
ReturnToService=2
NodeName=$HOST NodeAddr=127.0.0.1 $NODE_HW RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

munged --foreground --force --socket="$MUNGE_SOCKET" --key-file="$W/munge/munge.key" \
    --pid-file="$W/munge/munged.pid" --seed-file="$W/munge/munged.seed" \
    --log-file="$W/log/munged.log" >>"$W/log/munged.out" 2>&1 &
DAEMON_PIDS+=($!)
for _ in $(seq 50); do [[ -S $MUNGE_SOCKET ]] && break; sleep 0.1; done
[[ -S $MUNGE_SOCKET ]] || die "munged did not start: $(tail -3 "$W/log/munged.out" "$W/log/munged.log" 2>/dev/null)"
slurmctld -D -f "$SLURM_CONF" >>"$W/log/slurmctld.out" 2>&1 &
DAEMON_PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >>"$W/log/slurmd.out" 2>&1 &
DAEMON_PIDS+=($!)
echo "daemon pids: munged ${DAEMON_PIDS[0]}, slurmctld ${DAEMON_PIDS[1]}, slurmd ${DAEMON_PIDS[2]}"
state=""
for _ in $(seq 120); do
    state=$(sinfo --noheader --nodes="$HOST" --format=%T 2>/dev/null)
    [[ $state == idle ]] && break
    sleep 0.5
done
if [[ $state == idle ]]; then
    pass "node $HOST idle: $(sinfo --noheader --format='partition=%P cpus=%c memory=%m MB' | head -1)"
else
    echo "--- slurmctld.log"; tail -20 "$W/log/slurmctld.log" 2>/dev/null
    echo "--- slurmd.log"; tail -20 "$W/log/slurmd.log" 2>/dev/null
    die "node not idle after 60 s (state '$state')"
fi
phase_end

SMK=("$PY" -m snakemake -s "$ROOT/Snakefile"
    --configfile "$ROOT/.test/config/config.yaml" "$ROOT/tests/cluster/config.yaml")
SLURM_ARGS=(
    --profile "$ROOT/profiles/slurm" --workflow-profile none
    --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2
    --slurm-keep-successful-logs # so every job's Slurm log can be shown afterwards
    --max-threads "$NCPU"        # features asks for 8 threads; this node has $NCPU CPUs
    --set-resources train:gpu=0  # no GPU here (replaces the profile's set-resources)
    --retries 0                  # the failures below must fail now, not be resubmitted
)

# Evidence for the Slurm jobs a Snakemake output submitted: one line per job with its rule
# (the job comment), state as squeue reports it, exit code (scontrol) and slurmctld's log.
# Prints "EVIDENCE ..." lines; returns non-zero unless every job has the expected state.
evidence() { # log expected_state [only-this-rule]
    local log=$1 want=$2 rule=${3:-} bad=0 n=0 sid comment st ec ctld
    while read -r sid; do
        IFS='|' read -r st comment < <(squeue --noheader --states=all --jobs="$sid" --format='%T|%k')
        [[ -n $rule && $comment != rule_${rule}* ]] && continue
        ec=$(scontrol show job -o "$sid" | grep -o 'ExitCode=[0-9:]*')
        ctld=$(grep -oE "_job_complete: JobId=$sid W[A-Z]+ [0-9]+|REQUEST_KILL_JOB JobId=$sid uid [0-9]+" \
            "$W/log/slurmctld.log" | head -1 | sed "s/ JobId=$sid//")
        echo "EVIDENCE slurm job $sid $comment state=$st $ec slurmctld: ${ctld:-no completion line}"
        n=$((n + 1))
        [[ $st == "$want" ]] || bad=1
    done < <(grep -o 'submitted with SLURM jobid [0-9]*' "$log" | awk '{print $5}')
    ((n > 0)) && ((bad == 0))
}

# ---------------------------------------------------------------------------------------
phase "2 local" "tiny config, --cores 2 (the reference)"
mkdir -p "$W/local"
(cd "$W/local" && "${SMK[@]}" --cores 2) >"$W/local.log" 2>&1
rc=$?
if ((rc == 0)); then
    pass "local run: $(grep -o '[0-9]* of [0-9]* steps (100%) done' "$W/local.log")"
else
    tail -30 "$W/local.log"
    die "local run exited $rc"
fi
phase_end

# ---------------------------------------------------------------------------------------
phase "3 slurm" "the same config through --profile profiles/slurm"
mkdir -p "$W/slurm"
(cd "$W/slurm" && "${SMK[@]}" "${SLURM_ARGS[@]}") >"$W/slurm.log" 2>&1
rc=$?
grep -q "^Using profile .*profiles/slurm for setting default command line arguments" "$W/slurm.log" \
    && pass "Snakemake used profiles/slurm (and no workflow profile)" \
    || fail "Snakemake did not report using profiles/slurm"
if ((rc == 0)); then
    pass "slurm run: exit 0, $(grep -o '[0-9]* of [0-9]* steps (100%) done' "$W/slurm.log")"
else
    tail -40 "$W/slurm.log"
    die "slurm run exited $rc"
fi
grep -o 'Job [0-9]* has been submitted with SLURM jobid [0-9]* (log: [^)]*)' "$W/slurm.log" \
    | sed "s#$W/##" | sed 's/^/  /'
if evidence "$W/slurm.log" COMPLETED; then
    pass "every submitted Slurm job is COMPLETED"
else
    fail "a Slurm job did not end COMPLETED (lines above)"
fi
# every rule of the run (Snakemake's job table, `all` excepted) was a Slurm job, as often
"$PY" - "$W/slurm.log" <<'EOF' || fail "the Slurm jobs do not match Snakemake's job table"
import re, subprocess, sys
out = open(sys.argv[1]).read()
table = out.split("Job stats:", 1)[1].split("\n\n", 1)[0]
want = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] not in ("total", "all")}
ids = re.findall(r"submitted with SLURM jobid (\d+)", out)
comments = subprocess.run(["squeue", "--noheader", "--states=all", "--jobs=" + ",".join(ids), "--format=%k"],
                          capture_output=True, text=True, check=True).stdout.split()
got = {}
for c in comments:
    rule = re.match(r"rule_(\w+?)(_wildcards_.*)?$", c)[1]
    got[rule] = got.get(rule, 0) + 1
print(f"  Snakemake's job table: {dict(sorted(want.items()))}")
print(f"  Slurm jobs per rule:   {dict(sorted(got.items()))}")
if got != want:
    sys.exit(1)
print(f"PASS every rule ran as a Slurm job: {len(ids)} jobs for {len(want)} rules")
EOF
n_logs=$(find "$W/slurm/.snakemake/slurm_logs" -name '*.log' | wc -l)
echo "  Slurm logs in .snakemake/slurm_logs: $n_logs, e.g. $(find "$W/slurm/.snakemake/slurm_logs" -name '*.log' -path '*rule_train*' | head -1 | sed "s#$W/##")"
echo "  scontrol show job (first train job):"
sid=$(grep -o 'submitted with SLURM jobid [0-9]*' "$W/slurm.log" | awk '{print $5}' | while read -r j; do
    squeue --noheader --jobs="$j" --states=all --format='%i %k' | grep ' rule_train' | cut -d' ' -f1; done | head -1)
scontrol show job "$sid" | grep -E 'JobId=|JobState=|NodeList=|TRES=|Command=|WorkDir=' | sed 's/^ */    /' | cut -c1-160
# the train job's own log shows where it ran
grep -m1 -h "JAX backend" "$W/slurm/results/logs/train/v2/cnn/seed0.log" | sed 's/^/  train log: /'

# Outputs equal the local run's. Training on CPU is deterministic for a fixed seed here
# (same XLA build, same 2 CPUs): everything is compared exactly, leaving out only wall-clock
# fields (history.csv's seconds column, summary.json's *seconds* / *per_second* keys) and
# the run folder in paths.
"$PY" - "$W/local" "$W/slurm" <<'EOF' || fail "the Slurm run's outputs differ from the local run's"
import csv, io, json, sys
from pathlib import Path
local, slurm = Path(sys.argv[1]), Path(sys.argv[2])
files = ["data/manifest.csv", "data/dataset.json", "data/class_weights.json", "features/default/features.npy",
         "features/default/clips.csv", "features/default/stats.json", "comparison.json", "comparison.txt"]
for kind in ("eval/baselines/*/metrics.json", "eval/*/cnn/seed0/metrics.json", "eval/*/cnn/seed0/per_class.csv",
             "eval/*/cnn/seed0/confusion.npy", "train/*/cnn/seed0/history.csv", "train/*/cnn/seed0/summary.json"):
    files += sorted(str(p.relative_to(local / "results")) for p in (local / "results").glob(kind))

def volatile(key):
    return "seconds" in key or "per_second" in key

def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if not volatile(k)}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x

def load(root, rel):
    p = root / "results" / rel
    if p.suffix == ".npy":
        return p.read_bytes()
    text = p.read_text().replace(str(root), "<run>")
    if p.suffix == ".json":
        return strip(json.loads(text))
    if rel.endswith("history.csv"):
        rows = list(csv.DictReader(io.StringIO(text)))
        return [{k: v for k, v in r.items() if not volatile(k)} for r in rows]
    return text

bad = [rel for rel in files if load(local, rel) != load(slurm, rel)]
for rel in files:
    print(f"  {'DIFFERS' if rel in bad else 'equal  '} {rel}")
cmp_l = json.loads((local / "results/comparison.json").read_text())
print(f"  decision: local {cmp_l.get('decision')}, slurm {json.loads((slurm / 'results/comparison.json').read_text()).get('decision')}")
if bad:
    sys.exit(1)
print(f"PASS outputs equal the local run's: {len(files)} files (exact; wall-clock fields left out)")
EOF
phase_end

# ---------------------------------------------------------------------------------------
phase "4 failure" "a truncated WAV in the manifest, data.on_bad_file: error"
mkdir -p "$W/bad"
"$PY" - "$W/slurm/results/data/synthetic" "$W/bad" <<'EOF'
import csv, sys
from pathlib import Path
synth, bad = Path(sys.argv[1]), Path(sys.argv[2])
rows, seen = [], {}
for r in csv.DictReader(open(synth / "manifest.csv")):  # two clips per species and split
    key = (r["species"], r["split"])
    if seen.setdefault(key, 0) < 2:
        seen[key] += 1
        rows.append(r)
first = synth / rows[0]["path"]
(bad / "truncated.wav").write_bytes(first.read_bytes()[:300])  # header + a few samples
with open(bad / "manifest.csv", "w", newline="") as f:
    w = csv.DictWriter(f, ["path", "species", "split"])
    w.writeheader()
    for r in rows:
        w.writerow({"path": str(synth / r["path"]), "species": r["species"], "split": r["split"]})
    w.writerow({"path": "truncated.wav", "species": rows[0]["species"], "split": "train"})
EOF
cat >"$W/bad/bad.yaml" <<EOF
data:
  source: manifest
  manifest: $W/bad/manifest.csv
  on_bad_file: error
EOF
(cd "$W/bad" && "${SMK[@]}" "$W/bad/bad.yaml" "${SLURM_ARGS[@]}" results/features/default/features.npy) \
    >"$W/bad.log" 2>&1
rc=$?
((rc != 0)) && pass "Snakemake exited $rc" || fail "Snakemake exited 0 although a job failed"
msg=$(grep -o "SLURM-job '[0-9]*' failed, SLURM status is: '[A-Z_]*'" "$W/bad.log" | head -1)
fid=$(grep -o "SLURM-job '[0-9]*'" <<<"$msg" | tr -dc 0-9)
[[ -n $msg ]] && pass "Snakemake: $msg" || fail "no 'SLURM-job ... failed' report in Snakemake's output"
grep -q "Error in rule features" "$W/bad.log" && pass "Snakemake: Error in rule features" \
    || fail "no 'Error in rule features' in Snakemake's output"
slog=$(grep -o "[^ ]*/slurm_logs/rule_features/[^ ]*${fid}\.log" "$W/bad.log" | head -1)
if [[ -n $fid && -n $slog ]]; then
    pass "Snakemake names the job's Slurm log: ${slog#"$W"/}"
    [[ $slog != /* ]] && slog=$W/bad/$slog
    grep -q "truncated.wav" "$slog" && pass "the Slurm log names the bad file: $(grep -m1 -o '[^ ]*truncated.wav[^,]*' "$slog" | head -1 | cut -c1-120)" \
        || fail "the Slurm log $slog does not name truncated.wav"
else
    fail "no slurm_logs path for the failed features job in Snakemake's output"
fi
evidence "$W/bad.log" FAILED features && pass "the features job is FAILED in Slurm" \
    || fail "the features job is not FAILED in Slurm"
grep -A12 "Error in rule features" "$W/bad.log" | sed "s#$W/##g" | sed 's/^/  | /'
phase_end

# ---------------------------------------------------------------------------------------
phase "5 cancel" "scancel a RUNNING training job, then --rerun-incomplete"
cat >"$W/long.yaml" <<EOF
models:
  cnn:
    epochs: 60
training:
  patience: 100
EOF
TARGET=results/train/v2/cnn/seed0/summary.json
CKPTS=$W/slurm/results/checkpoints/v2/cnn/seed0
(cd "$W/slurm" && exec "${SMK[@]}" "$W/long.yaml" "${SLURM_ARGS[@]}" "$TARGET") >"$W/cancel.log" 2>&1 &
BG_PID=$!
# the train job RUNNING in Slurm, and this (60-epoch) run has saved epoch 2 or later
tid=""
for _ in $(seq 600); do
    kill -0 "$BG_PID" 2>/dev/null || break
    tid=$(grep -o 'submitted with SLURM jobid [0-9]*' "$W/cancel.log" | awk '{print $5}' | tail -1)
    if [[ -n $tid && $(squeue --noheader --jobs="$tid" --states=all --format=%T) == RUNNING ]] \
        && "$PY" - "$CKPTS" <<'EOF'; then
import json, sys
from pathlib import Path
c = Path(sys.argv[1])
try:
    ok = json.loads((c / "fingerprint.json").read_text())["settings"]["epochs"] == 60
except (OSError, ValueError, KeyError):
    ok = False
sys.exit(0 if ok and max([int(p.name) for p in c.glob("[0-9]*") if p.name.isdigit()], default=0) >= 2 else 1)
EOF
        break
    fi
    sleep 0.25
done
st=$(squeue --noheader --jobs="${tid:-0}" --states=all --format=%T 2>/dev/null)
if [[ $st == RUNNING ]]; then
    saved=$(find "$CKPTS" -maxdepth 1 -name '[0-9]*' -printf '%f\n' | sort -n | tail -1)
    pass "train job $tid RUNNING (squeue), checkpoint of epoch $saved saved: scancel $tid"
    scancel "$tid"
else
    fail "train job never seen RUNNING with a checkpoint (job '${tid}', state '${st}')"
fi
wait "$BG_PID"
rc=$?
BG_PID=""
((rc != 0)) && pass "Snakemake exited $rc after the cancel" || fail "Snakemake exited 0 after the cancel"
grep -q "SLURM-job '$tid' failed, SLURM status is: 'CANCELLED'" "$W/cancel.log" \
    && pass "Snakemake: SLURM-job '$tid' failed, SLURM status is: 'CANCELLED'" \
    || fail "no CANCELLED report for job $tid"
evidence "$W/cancel.log" CANCELLED train && pass "job $tid is CANCELLED in Slurm" \
    || fail "job $tid is not CANCELLED in Slurm"
(cd "$W/slurm" && "${SMK[@]}" "$W/long.yaml" "${SLURM_ARGS[@]}" --rerun-incomplete "$TARGET") \
    >"$W/rerun.log" 2>&1
rc=$?
((rc == 0)) && pass "--rerun-incomplete: exit 0" || { tail -30 "$W/rerun.log"; fail "--rerun-incomplete exited $rc"; }
# Snakemake saw the job fail and removed its outputs, so the rerun's reason is "Missing
# output files"; --rerun-incomplete (in profiles/slurm too) matters when Snakemake itself dies
# while a job writes its outputs. The work is saved by the train rule's checkpoints.
grep -m1 -E "^ +reason:" "$W/rerun.log" | sed 's/^ */  rerun /'
evidence "$W/rerun.log" COMPLETED train && pass "the rerun's train job is COMPLETED in Slurm" \
    || fail "the rerun's train job is not COMPLETED in Slurm"
resumed=$(grep -o "resumed from checkpoint at epoch [0-9]*" "$W/slurm/results/logs/train/v2/cnn/seed0.log" | tail -1)
epochs=$("$PY" -c "import csv,sys; print(len(list(csv.DictReader(open(sys.argv[1])))))" \
    "$W/slurm/results/train/v2/cnn/seed0/history.csv" 2>/dev/null)
[[ -n $resumed && $epochs == 60 ]] && pass "training $resumed and ended with $epochs epochs of history" \
    || fail "training did not resume from its checkpoint ('$resumed', $epochs epochs)"
phase_end

# ---------------------------------------------------------------------------------------
echo
echo "=== summary"
printf '%s\n' "${TIMES[@]}"
echo "TIME total: $(secs $(($(now_ms) - T_START))) s"
if ((FAILURES)); then
    echo "SLURM TEST FAILED: $FAILURES check(s)"
    exit 1
fi
echo "SLURM TEST PASSED"
