import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAll } from "js-yaml";
import {
  checkConfigMapCopy,
  checkContainerfile,
  checkDeploy,
  checkKustomization,
  checkManifests,
  checkPrometheusConfig,
  runPromtool,
  type SourceFile,
} from "../../scripts/check_deploy.ts";

// The real files under deploy/ must pass; each check must fail, saying
// where and why, on a file broken in one place. promtool (Debian's
// `prometheus` package) runs where it is on PATH; its tests are ignored,
// saying why, elsewhere.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function source(path: string): Promise<SourceFile> {
  return { path, text: await Deno.readTextFile(join(ROOT, path)) };
}

const SERVER = await source("deploy/kubernetes/server.yaml");
const EXPORTER = await source("deploy/kubernetes/exporter.yaml");
const CONTAINERFILE = await source("deploy/Containerfile");
const PROMETHEUS = await source("deploy/prometheus/prometheus.yml");

/** The documents of a manifest file, as plain objects to break. */
function documents(file: SourceFile): Record<string, unknown>[] {
  return loadAll(file.text) as Record<string, unknown>[];
}

/** One object as a manifest file (JSON is YAML). */
function manifest(doc: unknown, path = "broken.yaml"): SourceFile {
  return { path, text: JSON.stringify(doc) };
}

/** Reaches into a parsed manifest: `at(doc, "spec", "template")`. */
function at(
  value: unknown,
  ...keys: (string | number)[]
): Record<string, unknown> {
  let here = value;
  for (const key of keys) {
    here = (here as Record<string | number, unknown>)[key];
  }
  return here as Record<string, unknown>;
}

function exporterDeployment(): Record<string, unknown> {
  const doc = documents(EXPORTER)[0];
  assert.ok(doc !== undefined && doc.kind === "Deployment");
  return doc;
}

function serverDaemonSet(): Record<string, unknown> {
  const doc = documents(SERVER)[0];
  assert.ok(doc !== undefined && doc.kind === "DaemonSet");
  return doc;
}

/** Asserts exactly one problem, and that it says all of `parts`. */
function assertOneProblem(problems: string[], ...parts: string[]): void {
  assert.equal(problems.length, 1, problems.join("\n"));
  for (const part of parts) {
    assert.ok(
      problems[0]?.includes(part),
      `expected "${part}" in: ${problems[0]}`,
    );
  }
}

async function detectPromtool(): Promise<string | undefined> {
  const result = await runPromtool("scrape_configs: []\n");
  if (result.kind === "skipped") return result.reason;
  return undefined;
}

const NO_PROMTOOL = await detectPromtool();
if (NO_PROMTOOL !== undefined) {
  // deno-lint-ignore no-console
  console.log(`promtool tests skipped: ${NO_PROMTOOL}`);
}

Deno.test("checkDeploy() passes the real deploy/ files", async () => {
  const report = await checkDeploy(ROOT, { promtool: false });
  assert.deepEqual(report.problems, []);
  assert.ok(report.files.includes("deploy/Containerfile"));
  assert.ok(report.files.includes("deploy/kubernetes/server.yaml"));
  assert.ok(report.files.includes("deploy/prometheus/prometheus.yml"));
});

Deno.test({
  name: "runPromtool() passes deploy/prometheus/prometheus.yml",
  ignore: NO_PROMTOOL !== undefined,
  fn: async () => {
    const result = await runPromtool(PROMETHEUS.text);
    assert.equal(result.kind, "ok", JSON.stringify(result));
    const report = await checkDeploy(ROOT);
    assert.deepEqual(report.problems, []);
    assert.ok(
      report.notes.some((n) => n.startsWith("promtool check config: passed")),
    );
  },
});

Deno.test({
  name: "runPromtool() fails a scrape_timeout above scrape_interval",
  ignore: NO_PROMTOOL !== undefined,
  fn: async () => {
    const broken = PROMETHEUS.text.replace(
      "scrape_timeout: 10s",
      "scrape_timeout: 2m",
    );
    assert.notEqual(broken, PROMETHEUS.text);
    const result = await runPromtool(broken);
    assert.equal(result.kind, "failed");
    assert.match(
      result.kind === "failed" ? result.output : "",
      /scrape timeout greater than scrape interval/,
    );
  },
});

Deno.test("runPromtool() skips, saying why, when promtool is missing", async () => {
  const result = await runPromtool("scrape_configs: []\n", {
    promtool: "promtool-that-does-not-exist",
  });
  // Either not on PATH, or (under deno.json's test permissions) not allowed.
  assert.equal(result.kind, "skipped");
});

Deno.test('checkManifests() refuses replicas "two"', () => {
  const doc = exporterDeployment();
  at(doc, "spec").replicas = "two";
  assertOneProblem(
    checkManifests([manifest(doc)]),
    'broken.yaml: Deployment "iperf-ts-exporter"',
    "spec.replicas: must be integer",
  );
});

Deno.test("checkManifests() refuses a missing selector", () => {
  const doc = serverDaemonSet();
  delete at(doc, "spec").selector;
  assertOneProblem(
    checkManifests([manifest(doc)]),
    'DaemonSet "iperf-ts-server"',
    'spec: missing required field "selector"',
  );
});

Deno.test("checkManifests() refuses an unknown field and names the near one", () => {
  const doc = serverDaemonSet();
  const container = at(doc, "spec", "template", "spec", "containers", 0);
  container.readinesProbe = container.readinessProbe;
  delete container.readinessProbe;
  assertOneProblem(
    checkManifests([manifest(doc)]),
    'unknown field "spec.template.spec.containers[0].readinesProbe"',
    '(did you mean "readinessProbe"?)',
  );
});

Deno.test("checkManifests() refuses replicas on a DaemonSet as an unknown field", () => {
  const doc = serverDaemonSet();
  at(doc, "spec").replicas = 2;
  assertOneProblem(
    checkManifests([manifest(doc)]),
    'unknown field "spec.replicas"',
  );
});

Deno.test("checkManifests() refuses an unknown kind", () => {
  assertOneProblem(
    checkManifests([
      manifest({
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "x" },
      }),
    ]),
    'unknown kind "batch/v1 CronJob"',
  );
});

Deno.test("checkManifests() refuses a selector that misses the template's labels", () => {
  const doc = exporterDeployment();
  at(doc, "spec", "selector", "matchLabels")["app.kubernetes.io/component"] =
    "server";
  const problems = checkManifests([manifest(doc)]);
  assertOneProblem(problems, "the selector does not match the pods");
});

Deno.test("checkManifests() refuses a probe on a port name the container lacks", () => {
  const doc = serverDaemonSet();
  const container = at(doc, "spec", "template", "spec", "containers", 0);
  at(container, "readinessProbe", "tcpSocket").port = "iperf";
  assertOneProblem(
    checkManifests([manifest(doc)]),
    'readinessProbe.tcpSocket.port: "iperf" is not a port name',
  );
});

Deno.test("checkManifests() refuses a Service whose targetPort the pods lack", () => {
  const [daemonSet, service] = documents(SERVER);
  at(service, "spec", "ports", 2).targetPort = "metric";
  assertOneProblem(
    checkManifests([
      manifest(daemonSet, "a.yaml"),
      manifest(service, "b.yaml"),
    ]),
    'b.yaml: Service "iperf-ts-server"',
    'spec.ports[2].targetPort: "metric"',
  );
});

Deno.test("checkManifests() refuses YAML that does not parse", () => {
  assertOneProblem(
    checkManifests([{ path: "bad.yaml", text: "a: [1, 2\n" }]),
    "bad.yaml: cannot parse YAML",
  );
});

Deno.test("checkKustomization() wants every manifest listed, and only those", async () => {
  const file = await source("deploy/kubernetes/kustomization.yaml");
  const names = [
    "exporter.yaml",
    "namespace.yaml",
    "prometheus-configmap.yaml",
    "server.yaml",
  ];
  assert.deepEqual(checkKustomization(file, names), []);
  assertOneProblem(
    checkKustomization(file, [...names, "extra.yaml"]),
    '"extra.yaml" is not listed',
  );
  assertOneProblem(
    checkKustomization(file, names.slice(1)),
    '"exporter.yaml" is not a file here',
  );
});

Deno.test("checkContainerfile() passes deploy/Containerfile", () => {
  assert.deepEqual(checkContainerfile(CONTAINERFILE), []);
});

Deno.test("checkContainerfile() refuses a root variant", async (t) => {
  const variant = (from: RegExp, to: string): SourceFile => {
    const text = CONTAINERFILE.text.replace(from, to);
    assert.notEqual(text, CONTAINERFILE.text);
    return { path: "Containerfile", text };
  };
  await t.step("USER root", () => {
    assertOneProblem(
      checkContainerfile(variant(/^USER .*$/m, "USER root")),
      'Containerfile: USER "root" runs as root',
    );
  });
  await t.step("USER 0:0", () => {
    assertOneProblem(
      checkContainerfile(variant(/^USER .*$/m, "USER 0:0")),
      'USER "0:0" runs as root',
    );
  });
  await t.step("no USER", () => {
    assertOneProblem(
      checkContainerfile(variant(/^USER .*$/m, "")),
      "no USER instruction: the container would run as root",
    );
  });
  await t.step("a USER by name", () => {
    assertOneProblem(
      checkContainerfile(variant(/^USER .*$/m, "USER nonroot")),
      'USER "nonroot" must be numeric',
    );
  });
});

Deno.test("checkContainerfile() wants exec-form ENTRYPOINT and every EXPOSE", () => {
  const shellForm = CONTAINERFILE.text.replace(
    /^ENTRYPOINT .*$/m,
    "ENTRYPOINT /usr/local/bin/iperf-ts",
  );
  assertOneProblem(
    checkContainerfile({ path: "Containerfile", text: shellForm }),
    "ENTRYPOINT must be exec form",
  );
  const noUdp = CONTAINERFILE.text.replace("5201/udp", "");
  assertOneProblem(
    checkContainerfile({ path: "Containerfile", text: noUdp }),
    "no EXPOSE 5201/udp",
  );
});

Deno.test("checkPrometheusConfig() wants timeouts below intervals and a probe period that fits", () => {
  assert.deepEqual(
    checkPrometheusConfig(PROMETHEUS, { namespace: "iperf-ts" }),
    [],
  );
  const slow = {
    path: "p.yml",
    text: PROMETHEUS.text.replace("scrape_timeout: 20s", "scrape_timeout: 60s"),
  };
  assertOneProblem(
    checkPrometheusConfig(slow),
    'job "iperf3-tcp": scrape_timeout (60 s) must be below scrape_interval (60 s)',
  );
  const long = {
    path: "p.yml",
    text: PROMETHEUS.text.replace('period: ["5s"]', 'period: ["30s"]'),
  };
  assertOneProblem(
    checkPrometheusConfig(long),
    "params.period (30 s) must be below",
  );
});

Deno.test("checkPrometheusConfig() checks kubernetes_sd_configs itself", () => {
  const elsewhere = checkPrometheusConfig(PROMETHEUS, {
    namespace: "monitoring",
  });
  // Three jobs share the one discovery block (a YAML anchor).
  assert.equal(elsewhere.length, 3, elsewhere.join("\n"));
  assert.ok(elsewhere.every((p) => p.includes('must include "monitoring"')));
  const badRole = {
    path: "p.yml",
    text: PROMETHEUS.text.replace(
      "- role: pod\n        namespaces",
      "- role: pods\n        namespaces",
    ),
  };
  assert.ok(
    checkPrometheusConfig(badRole).some((p) =>
      p.includes('role "pods" is not one of')
    ),
  );
});

Deno.test("checkConfigMapCopy() wants the ConfigMap to hold prometheus.yml as is", async () => {
  const configMap = await source("deploy/kubernetes/prometheus-configmap.yaml");
  assert.deepEqual(checkConfigMapCopy(configMap, PROMETHEUS), []);
  const edited = { ...PROMETHEUS, text: PROMETHEUS.text.replace("60s", "61s") };
  assertOneProblem(
    checkConfigMapCopy(configMap, edited),
    'data["prometheus.yml"] differs from deploy/prometheus/prometheus.yml from its line',
  );
});

Deno.test("checkManifests() refuses a name Kubernetes would refuse", () => {
  const [, service] = documents(SERVER);
  at(service, "metadata").name = "iperf_ts.server";
  assertOneProblem(
    checkManifests([manifest(service)]),
    'metadata.name: "iperf_ts.server" is not a valid name',
  );
  const doc = exporterDeployment();
  delete at(doc, "metadata").name;
  assertOneProblem(checkManifests([manifest(doc)]), "metadata.name: missing");
});
