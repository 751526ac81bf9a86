#!/usr/bin/env bash
# Validates the deployment files without a container engine or a cluster:
#   yamllint            every YAML file under deploy/ (Debian yamllint)
#   docker-compose      `docker-compose config` parses and interpolates compose.yaml (Debian docker-compose; also
#                       `docker compose config` when the v2 plugin is there)
#   compose schema      compose.yaml against the Compose Specification JSON schema, plus cross-file checks
#   promtool            `promtool check config` on the scrape config; every Grafana PromQL expression parsed by
#                       `promtool check rules` (Debian prometheus)
#   kustomize + schema  `kubectl kustomize deploy/` renders the manifests and generated ConfigMaps; every object is
#                       checked against the Kubernetes OpenAPI schemas (npm kubernetes-models) plus selector, port,
#                       volume and URL consistency
#   shell lint          the deploy scripts, by Debian shellcheck
# The Grafana queries' metric names are checked against the exporter by GrafanaDashboardMetricsTest (mvn verify).
#
# Needs: apt-get install yamllint docker-compose prometheus shellcheck, plus kubectl (Debian kubernetes-client or
# any kubectl), node and npm (the validators are installed from deploy/scripts/validate/package-lock.json).
set -uo pipefail
deploy="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$deploy" || exit 2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

run() {
  local what=$1
  shift
  echo "---- $what: $*"
  if "$@" >"$work/out" 2>&1; then
    sed 's/^/  /' "$work/out"
    echo "ok   $what"
    passed=$((passed + 1))
  else
    sed 's/^/  /' "$work/out"
    echo "FAIL $what"
    failed=$((failed + 1))
  fi
}

need() {
  if ! command -v "$1" >/dev/null; then
    echo "FAIL $1 is not installed ($2)"
    failed=$((failed + 1))
    return 1
  fi
}

mapfile -t yamls < <(find . -path ./scripts/validate/node_modules -prune -o \( -name '*.yaml' -o -name '*.yml' \) -print | sort)

need yamllint "apt-get install yamllint" &&
  run "yamllint" yamllint --strict -c scripts/yamllint.yaml "${yamls[@]}"

if need docker-compose "apt-get install docker-compose"; then
  run "docker-compose config" docker-compose -f compose.yaml config --quiet
  run "docker-compose config --services" docker-compose -f compose.yaml config --services
fi
if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  run "docker compose config" docker compose -f compose.yaml config --quiet
fi

if need npm "apt-get install npm" && need node "apt-get install nodejs"; then
  if [[ ! -d scripts/validate/node_modules ]]; then
    run "npm ci (validators)" npm ci --prefix scripts/validate --no-audit --no-fund
  fi
  run "compose schema and cross-file checks" node scripts/validate/check.mjs compose compose.yaml
fi

if need promtool "apt-get install prometheus"; then
  # the token file is mounted in the containers; here a stand-in lets promtool check the rest of the config
  printf 'stand-in' >"$work/dashboard-token"
  sed "s|credentials_file: .*|credentials_file: $work/dashboard-token|" prometheus/prometheus.yml >"$work/prometheus.yml"
  run "promtool check config" promtool check config "$work/prometheus.yml"
  # Grafana variables are not PromQL: substitute a regex that matches anything before parsing
  python3 - "$work/dashboard-rules.yml" grafana/*.json <<'PY'
import json, re, sys
exprs = []
def walk(panels):
    for p in panels:
        exprs.extend(t["expr"] for t in p.get("targets", []) if t.get("expr"))
        walk(p.get("panels", []))
for f in sys.argv[2:]:
    walk(json.load(open(f))["panels"])
with open(sys.argv[1], "w") as out:
    out.write("groups:\n  - name: grafana-dashboard-queries\n    rules:\n")
    for i, e in enumerate(exprs):
        e = re.sub(r"\$\{?\w+\}?", ".*", e)
        out.write(f"      - record: dashboard_query_{i}\n        expr: {json.dumps(e)}\n")
print(f"{len(exprs)} PromQL expressions")
PY
  run "promtool check rules (Grafana PromQL)" promtool check rules "$work/dashboard-rules.yml"
fi

if need kubectl "apt-get install kubernetes-client"; then
  # stdout rather than -o: older kubectl (Debian's 1.20) has no output flag on kustomize
  render() { kubectl kustomize . >"$work/rendered.yaml" && grep -c '^kind:' "$work/rendered.yaml" | sed 's/$/ objects rendered/'; }
  run "kubectl kustomize deploy/" render
  if [[ -s "$work/rendered.yaml" ]] && command -v node >/dev/null; then
    run "Kubernetes schema and consistency checks" node scripts/validate/check.mjs k8s "$work/rendered.yaml"
  fi
fi

need shellcheck "apt-get install shellcheck" &&
  run "shellcheck" shellcheck -x scripts/*.sh docker/image-steps.sh docker/tfmq

# every step the Dockerfile RUNs is defined (build-image-without-docker.sh checks it mirrors the same list)
dockerfile_steps() {
  local steps s
  steps=$(grep -v '^[[:space:]]*#' Dockerfile | grep -o 'image-steps.sh [a-z-]*' | awk '{print $2}' | sort -u)
  for s in $steps; do
    grep -q "^step_${s//-/_}()" docker/image-steps.sh || { echo "Dockerfile runs undefined step $s"; return 1; }
  done
  echo "$(wc -w <<<"$steps") steps, all defined in docker/image-steps.sh"
}
run "Dockerfile steps defined" dockerfile_steps

echo "validate: $passed passed, $failed failed"
((failed == 0))
