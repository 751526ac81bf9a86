#!/usr/bin/env bash
# End-to-end check of the deploy scrape config against a real run, without containers:
#  1. rewrites deploy/prometheus/prometheus.yml for this machine: the target tfmq-coordinator:8080 becomes
#     127.0.0.1:$PORT and the scrape interval 1 s (everything else, job name and metrics path included, is kept);
#  2. starts the Debian `prometheus` server with it (on 127.0.0.1:$PROM_PORT, storage in a temporary dir);
#  3. starts a short `./tfmq run` (configs/fp-control.conf, 128 samples, no calibration) with the dashboard on the
#     fixed port the config now targets;
#  4. waits until Prometheus has scraped the run, then asserts through its HTTP API (/api/v1/query) that the tfmq
#     series are there with the labels the Grafana dashboard relies on (run, recipe, side, metric, step, member),
#     plus the job/instance labels of the deploy config and the JVM metrics.
#
#   deploy/scripts/scrape-check.sh            (env: SCRAPE_CHECK_PORT=18080, SCRAPE_CHECK_PROM_PORT=19090,
#                                               SCRAPE_CHECK_KEEP=1 keeps the work dir,
#                                               SCRAPE_CHECK_TFMQ=launcher, default ./tfmq; give the staged image's
#                                               STAGE/opt/tfmq/bin/tfmq to run the image tree instead)
# Needs: apt-get install prometheus dataset-fashion-mnist; Java 17 and Maven for ./tfmq. Loopback only.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
port="${SCRAPE_CHECK_PORT:-18080}"
prom_port="${SCRAPE_CHECK_PROM_PORT:-19090}"
work="$(mktemp -d /tmp/tfmq-scrape-check.XXXXXX)"
run_name="scrape-check"
prom_pid=""
run_pid=""

cleanup() {
  # a killed process's wait status is non-zero; carry on so both get stopped and the work dir removed
  set +e
  # stop only what this script started, by pid
  [[ -n "$run_pid" ]] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
  [[ -n "$prom_pid" ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  if [[ -n "${SCRAPE_CHECK_KEEP:-}" ]]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

command -v prometheus >/dev/null || { echo "prometheus is not installed (apt-get install prometheus)" >&2; exit 2; }
for p in "$port" "$prom_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p is in use; set SCRAPE_CHECK_PORT/SCRAPE_CHECK_PROM_PORT" >&2; exit 2; fi
done

# 1. the deploy config, pointed at this machine
# the dashboard's bearer token: the same secret for the run and for Prometheus, as compose and Kubernetes share it
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s' "$token" >"$work/dashboard-token"
sed -e "s/'tfmq-coordinator:8080'/'127.0.0.1:$port'/" -e 's/^\(  scrape_interval:\) .*/\1 1s/' \
  -e "s|credentials_file: .*|credentials_file: $work/dashboard-token|" \
  "$repo/deploy/prometheus/prometheus.yml" >"$work/prometheus.yml"
grep -q "127.0.0.1:$port" "$work/prometheus.yml" || { echo "target not rewritten: the deploy config changed shape" >&2; exit 1; }
echo "== scrape config (deploy/prometheus/prometheus.yml rewritten to the local target)"
grep -v '^#' "$work/prometheus.yml" | sed '/^$/d'
promtool check config "$work/prometheus.yml" >/dev/null

# 2. Prometheus
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!

# 3. a short run with the dashboard on the fixed port
echo "== starting ${SCRAPE_CHECK_TFMQ:-./tfmq} run (fp-control, 128 samples) with the dashboard on 127.0.0.1:$port"
(cd "$work" && exec "${SCRAPE_CHECK_TFMQ:-$repo/tfmq}" run "$repo/configs/fp-control.conf" --run-dir "$work/run" \
  --set run.name="$run_name" --set run.samples=128 --set run.batch-size=16 --set metrics.every-batches=1 \
  --set metrics.reference.count=1000 --set dashboard.enabled=true --set dashboard.host=127.0.0.1 \
  --set dashboard.port="$port" --set dashboard.token="$token") >"$work/run.log" 2>&1 &
run_pid=$!

# 4. ask Prometheus until the run's series are in, then assert on them
query() {
  python3 - "$prom_port" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
try:
    print(json.dumps(json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]))
except Exception:
    print("[]")
PY
}

deadline=$((SECONDS + 300))
while :; do
  # quality estimates come after the first metrics batch: waiting for them means every panel has data
  if [[ "$(query 'count(tfmq_quality{side="quantized", metric="fid"})')" != "[]" ]]; then break; fi
  if ((SECONDS > deadline)) || ! kill -0 "$run_pid" 2>/dev/null; then
    echo "no tfmq_quality series scraped; run log and Prometheus log follow" >&2
    tail -20 "$work/run.log" "$work/prometheus.log" >&2
    exit 1
  fi
  sleep 1
done
echo "== scraped after ${SECONDS}s; asserting through /api/v1/query"

python3 - "$prom_port" "$port" "$run_name" <<'PY'
import json, sys, urllib.parse, urllib.request
prom, port, run = sys.argv[1:]
passed = failed = 0

def q(expr):
    url = f"http://127.0.0.1:{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    return json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]

def check(ok, what, detail=""):
    global passed, failed
    passed += ok
    failed += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + ("" if ok else f": {detail}"))

up = q('max_over_time(up{job="tfmq"}[5m])')
check(len(up) == 1 and up[0]["value"][1] == "1" and up[0]["metric"]["instance"] == f"127.0.0.1:{port}",
      f'up{{job="tfmq", instance="127.0.0.1:{port}"}} == 1', up)

done = q('max_over_time(tfmq_samples_done{job="tfmq"}[5m])')
labels = done[0]["metric"] if done else {}
check(len(done) == 1 and labels.get("run") == run and labels.get("recipe") == "none" and float(done[0]["value"][1]) > 0,
      f'tfmq_samples_done{{run="{run}", recipe="none"}} > 0', done)
print(f"     labels: {json.dumps(labels, sort_keys=True)}")

for name in ["tfmq_samples_total_planned", "tfmq_throughput_samples_per_second", "tfmq_quality", "tfmq_quality_ci_low",
             "tfmq_quality_ci_high", "tfmq_step_eps_rel_l2", "tfmq_step_trajectory_rms", "tfmq_step_temporal_rel_l2"]:
    r = q(f'count(max_over_time({name}{{job="tfmq", run="{run}", recipe="none"}}[5m]))')
    check(bool(r) and int(r[0]["value"][1]) > 0, f"{name} present", r)

sides = q(f'count by (side, metric) (max_over_time(tfmq_quality{{run="{run}"}}[5m]))')
pairs = sorted((s["metric"]["side"], s["metric"]["metric"]) for s in sides)
check({("fp", "fid"), ("quantized", "fid"), ("fp", "kid"), ("quantized", "kid")} <= set(pairs),
      "tfmq_quality has side x metric labels (fp/quantized x fid/kid)", pairs)
print(f"     side/metric pairs: {pairs}")

temporal = q(f'max_over_time(tfmq_step_temporal_rel_l2{{run="{run}"}}[5m])')
steps = {s["metric"].get("step") for s in temporal}
members = {s["metric"].get("member") for s in temporal}
check(len(steps) == 20 and None not in steps and len(members) > 0 and None not in members,
      "tfmq_step_temporal_rel_l2 has step (20 sampling steps) and member labels", (steps, members))
print(f"     {len(temporal)} series: {len(steps)} steps x {len(members)} TIB members, e.g. member={sorted(members)[0]}")

jvm = q('count(jvm_memory_used_bytes{job="tfmq"})')
check(bool(jvm) and int(jvm[0]["value"][1]) > 0, "JVM metrics (jvm_memory_used_bytes) present", jvm)
sample_ids = q('count({job="tfmq", sample_id=~".+"})')
check(sample_ids == [], "no per-sample labels", sample_ids)
print(f"scrape-check: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
