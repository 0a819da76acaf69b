/**
 * `deno task check:deploy`: checks deploy/ without a cluster, an image or a
 * container engine, none of which this project's machines have.
 *
 * - deploy/kubernetes: every manifest is parsed (multi-document YAML) and
 *   validated against the Kubernetes schemas that npm `kubernetes-models`
 *   ships; a kind it has no model for here is refused. Those schemas accept
 *   any field they do not know, so the same objects are also walked against
 *   the models' property names (`FIELDS` below, which `deno check` proves
 *   equal to the package's types). Then the checks the API server would make
 *   at apply time: selectors against template labels, named ports, port
 *   names. kustomization.yaml must list exactly the manifests beside it.
 * - deploy/Containerfile: a non-root numeric `USER`, the exec-form
 *   `ENTRYPOINT` and `CMD`, the `EXPOSE`d ports.
 * - deploy/prometheus/prometheus.yml: `promtool check config` when promtool
 *   is on PATH (Debian's `prometheus` package), else a printed skip; our own
 *   checks either way (timeouts below intervals, the probe period, the
 *   `kubernetes_sd_configs`, which Debian's promtool cannot read), and the
 *   copy in kubernetes/prometheus-configmap.yaml must be the same text.
 *
 * Usage: deno task check:deploy   (exits 1 when anything is wrong)
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAll } from "js-yaml";
import {
  DaemonSet,
  type IDaemonSet,
} from "kubernetes-models/apps/v1/DaemonSet";
import type { IDaemonSetSpec } from "kubernetes-models/apps/v1/DaemonSetSpec";
import type { IDaemonSetUpdateStrategy } from "kubernetes-models/apps/v1/DaemonSetUpdateStrategy";
import {
  Deployment,
  type IDeployment,
} from "kubernetes-models/apps/v1/Deployment";
import type { IDeploymentSpec } from "kubernetes-models/apps/v1/DeploymentSpec";
import type { IDeploymentStrategy } from "kubernetes-models/apps/v1/DeploymentStrategy";
import type { ICapabilities } from "kubernetes-models/v1/Capabilities";
import { ConfigMap, type IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IConfigMapVolumeSource } from "kubernetes-models/v1/ConfigMapVolumeSource";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IContainerPort } from "kubernetes-models/v1/ContainerPort";
import type { IEmptyDirVolumeSource } from "kubernetes-models/v1/EmptyDirVolumeSource";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { IHTTPGetAction } from "kubernetes-models/v1/HTTPGetAction";
import type { IKeyToPath } from "kubernetes-models/v1/KeyToPath";
import { type INamespace, Namespace } from "kubernetes-models/v1/Namespace";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import type { IProbe } from "kubernetes-models/v1/Probe";
import type { IResourceRequirements } from "kubernetes-models/v1/ResourceRequirements";
import type { ISeccompProfile } from "kubernetes-models/v1/SeccompProfile";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import { type IService, Service } from "kubernetes-models/v1/Service";
import type { IServicePort } from "kubernetes-models/v1/ServicePort";
import type { IServiceSpec } from "kubernetes-models/v1/ServiceSpec";
import type { ITCPSocketAction } from "kubernetes-models/v1/TCPSocketAction";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";

/** The project root, where deno.json and deploy/ live. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The image's program, as deploy/Containerfile installs it. */
export const ENTRYPOINT = "/usr/local/bin/iperf-ts";

/** The ports the image must `EXPOSE`: tests (TCP, UDP), exporter, metrics. */
export const EXPOSED_PORTS: readonly string[] = [
  "5201/tcp",
  "5201/udp",
  "9579/tcp",
  "9580/tcp",
];

// ---------------------------------------------------------------------------
// Field names. Each list is one string of names; the type parameter is the
// model's interface, and `deno check` fails (naming the field) when the list
// misses one of its properties or has one it lacks. So a newer
// kubernetes-models with new fields shows up as a type error here rather
// than as a false "unknown field".

// Split into lines, then each line (the union distributes) into words; both
// are tail-recursive, so a long list stays within the compiler's limits.
type Lines<S extends string, Found = never> = S extends
  `${infer Line}\n${infer Rest}` ? Lines<Rest, Found | Line>
  : Found | S;
type Words<S extends string, Found = never> = S extends
  `${infer Word} ${infer Rest}` ? Words<Rest, Found | Word>
  : Found | S;
type Names<S extends string> = Exclude<Words<Lines<S>>, "">;
type SameNames<T, S extends string> = [Exclude<keyof T, Names<S>>] extends
  [never] ? [Exclude<Names<S>, keyof T>] extends [never] ? S
  : `not a field: ${Exclude<Names<S>, keyof T>}`
  : `missing field: ${Exclude<keyof T, Names<S>> & string}`;

/** The fields of one kind of object, and the shapes of those we walk into. */
interface Shape {
  readonly fields: ReadonlySet<string>;
  /** A field's shape; for a list, the shape of each item. */
  readonly nested: Readonly<Record<string, Shape>>;
}

function fields<T>(): <const S extends string>(
  names: SameNames<T, S>,
  nested?: Readonly<Record<string, Shape>>,
) => Shape {
  return (names, nested = {}) => ({
    fields: new Set(names.split(/\s+/).filter((name) => name !== "")),
    nested,
  });
}

type ObjectMeta = NonNullable<IDaemonSet["metadata"]>;
type LabelSelector = NonNullable<IDaemonSetSpec["selector"]>;

const OBJECT_META = fields<ObjectMeta>()(`
  annotations creationTimestamp deletionGracePeriodSeconds deletionTimestamp
  finalizers generateName generation labels managedFields name namespace
  ownerReferences resourceVersion selfLink uid
`);
const LABEL_SELECTOR = fields<LabelSelector>()("matchExpressions matchLabels");
const PROBE = fields<IProbe>()(
  `
  exec failureThreshold grpc httpGet initialDelaySeconds periodSeconds
  successThreshold tcpSocket terminationGracePeriodSeconds timeoutSeconds
`,
  {
    httpGet: fields<IHTTPGetAction>()("host httpHeaders path port scheme"),
    tcpSocket: fields<ITCPSocketAction>()("host port"),
  },
);
const SECCOMP_PROFILE = fields<ISeccompProfile>()("localhostProfile type");
const CONTAINER = fields<IContainer>()(
  `
  args command env envFrom image imagePullPolicy lifecycle livenessProbe name
  ports readinessProbe resizePolicy resources restartPolicy restartPolicyRules
  securityContext startupProbe stdin stdinOnce terminationMessagePath
  terminationMessagePolicy tty volumeDevices volumeMounts workingDir
`,
  {
    env: fields<IEnvVar>()("name value valueFrom"),
    livenessProbe: PROBE,
    ports: fields<IContainerPort>()(
      "containerPort hostIP hostPort name protocol",
    ),
    readinessProbe: PROBE,
    resources: fields<IResourceRequirements>()("claims limits requests"),
    securityContext: fields<ISecurityContext>()(
      `
      allowPrivilegeEscalation appArmorProfile capabilities privileged
      procMount readOnlyRootFilesystem runAsGroup runAsNonRoot runAsUser
      seLinuxOptions seccompProfile windowsOptions
    `,
      {
        capabilities: fields<ICapabilities>()("add drop"),
        seccompProfile: SECCOMP_PROFILE,
      },
    ),
    startupProbe: PROBE,
    volumeMounts: fields<IVolumeMount>()(`
      mountPath mountPropagation name readOnly recursiveReadOnly subPath
      subPathExpr
    `),
  },
);
const POD_TEMPLATE = fields<IPodTemplateSpec>()("metadata spec", {
  metadata: OBJECT_META,
  spec: fields<IPodSpec>()(
    `
    activeDeadlineSeconds affinity automountServiceAccountToken containers
    dnsConfig dnsPolicy enableServiceLinks ephemeralContainers hostAliases
    hostIPC hostNetwork hostPID hostUsers hostname hostnameOverride
    imagePullSecrets initContainers nodeName nodeSelector os overhead
    preemptionPolicy priority priorityClassName readinessGates resourceClaims
    resources restartPolicy runtimeClassName schedulerName schedulingGates
    schedulingGroup securityContext serviceAccount serviceAccountName
    setHostnameAsFQDN shareProcessNamespace subdomain
    terminationGracePeriodSeconds tolerations topologySpreadConstraints volumes
  `,
    {
      containers: CONTAINER,
      initContainers: CONTAINER,
      securityContext: fields<IPodSecurityContext>()(
        `
        appArmorProfile fsGroup fsGroupChangePolicy runAsGroup runAsNonRoot
        runAsUser seLinuxChangePolicy seLinuxOptions seccompProfile
        supplementalGroups supplementalGroupsPolicy sysctls windowsOptions
      `,
        { seccompProfile: SECCOMP_PROFILE },
      ),
      volumes: fields<IVolume>()(
        `
        awsElasticBlockStore azureDisk azureFile cephfs cinder configMap csi
        downwardAPI emptyDir ephemeral fc flexVolume flocker gcePersistentDisk
        gitRepo glusterfs hostPath image iscsi name nfs persistentVolumeClaim
        photonPersistentDisk portworxVolume projected quobyte rbd scaleIO
        secret storageos vsphereVolume
      `,
        {
          configMap: fields<IConfigMapVolumeSource>()(
            "defaultMode items name optional",
            { items: fields<IKeyToPath>()("key mode path") },
          ),
          emptyDir: fields<IEmptyDirVolumeSource>()("medium sizeLimit"),
        },
      ),
    },
  ),
});

/** How one kind is checked: its schema, and the shape we walk. */
interface Kind {
  readonly validate: (doc: unknown) => void;
  readonly shape: Shape;
}

// The casts below are what `validate()` then proves or refutes: the models
// check the whole object against the schema, whatever its static type.
const KINDS: Readonly<Record<string, Kind>> = {
  "apps/v1 DaemonSet": {
    validate: (doc) => new DaemonSet(doc as IDaemonSet).validate(),
    shape: fields<IDaemonSet>()("apiVersion kind metadata spec status", {
      metadata: OBJECT_META,
      spec: fields<IDaemonSetSpec>()(
        "minReadySeconds revisionHistoryLimit selector template updateStrategy",
        {
          selector: LABEL_SELECTOR,
          template: POD_TEMPLATE,
          updateStrategy: fields<IDaemonSetUpdateStrategy>()(
            "rollingUpdate type",
          ),
        },
      ),
    }),
  },
  "apps/v1 Deployment": {
    validate: (doc) => new Deployment(doc as IDeployment).validate(),
    shape: fields<IDeployment>()("apiVersion kind metadata spec status", {
      metadata: OBJECT_META,
      spec: fields<IDeploymentSpec>()(
        `
        minReadySeconds paused progressDeadlineSeconds replicas
        revisionHistoryLimit selector strategy template
      `,
        {
          selector: LABEL_SELECTOR,
          strategy: fields<IDeploymentStrategy>()("rollingUpdate type"),
          template: POD_TEMPLATE,
        },
      ),
    }),
  },
  "v1 Service": {
    validate: (doc) => new Service(doc as IService).validate(),
    shape: fields<IService>()("apiVersion kind metadata spec status", {
      metadata: OBJECT_META,
      spec: fields<IServiceSpec>()(
        `
        allocateLoadBalancerNodePorts clusterIP clusterIPs externalIPs
        externalName externalTrafficPolicy healthCheckNodePort
        internalTrafficPolicy ipFamilies ipFamilyPolicy loadBalancerClass
        loadBalancerIP loadBalancerSourceRanges ports publishNotReadyAddresses
        selector sessionAffinity sessionAffinityConfig trafficDistribution type
      `,
        {
          ports: fields<IServicePort>()(
            "appProtocol name nodePort port protocol targetPort",
          ),
        },
      ),
    }),
  },
  "v1 ConfigMap": {
    validate: (doc) => new ConfigMap(doc as IConfigMap).validate(),
    shape: fields<IConfigMap>()(
      "apiVersion binaryData data immutable kind metadata",
      { metadata: OBJECT_META },
    ),
  },
  "v1 Namespace": {
    validate: (doc) => new Namespace(doc as INamespace).validate(),
    shape: fields<INamespace>()("apiVersion kind metadata spec status", {
      metadata: OBJECT_META,
    }),
  },
};

// ---------------------------------------------------------------------------
// Manifests

/** A file to check: the path shown in messages, and its text. */
export interface SourceFile {
  /** The path that prefixes every problem, e.g. `deploy/kubernetes/server.yaml`. */
  path: string;
  /** The file's contents. */
  text: string;
}

/** One parsed manifest and where it came from. */
interface Manifest {
  readonly label: string;
  readonly doc: Record<string, unknown>;
}

/**
 * Checks Kubernetes manifests: the schema of each object, unknown fields,
 * and what the API server checks across fields and objects (selectors
 * against template labels, named ports, a Service selecting pods of a
 * workload in the same set).
 *
 * @param files the manifests, each one or more YAML documents
 * @returns the problems, one line each, empty when all is well
 */
export function checkManifests(files: readonly SourceFile[]): string[] {
  const problems: string[] = [];
  const manifests: Manifest[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    let docs: unknown[];
    try {
      docs = loadAll(file.text);
    } catch (error) {
      problems.push(`${file.path}: cannot parse YAML: ${message(error)}`);
      continue;
    }
    for (const [index, doc] of docs.entries()) {
      if (doc === null || doc === undefined) continue;
      const where = `${file.path} (document ${index + 1})`;
      if (!isRecord(doc)) {
        problems.push(`${where}: expected an object, got ${typeName(doc)}`);
        continue;
      }
      const key = `${String(doc.apiVersion)} ${String(doc.kind)}`;
      const name = isRecord(doc.metadata) ? doc.metadata.name : undefined;
      const label = `${file.path}: ${String(doc.kind)} "${String(name)}"`;
      const kind = KINDS[key];
      if (kind === undefined) {
        problems.push(
          `${where}: unknown kind "${key}": expected one of ${
            Object.keys(KINDS).map((k) => `"${k}"`).join(", ")
          }`,
        );
        continue;
      }
      const before = problems.length;
      try {
        kind.validate(doc);
      } catch (error) {
        for (const line of schemaErrors(error)) {
          problems.push(`${label}: ${line}`);
        }
      }
      for (const line of unknownFields(doc, kind.shape)) {
        problems.push(`${label}: ${line}`);
      }
      const bad = nameProblem(
        name,
        doc.kind === "Service" || doc.kind === "Namespace",
      );
      if (bad !== undefined) problems.push(`${label}: metadata.name: ${bad}`);
      const id = `${key} ${String(name)}`;
      if (seen.has(id)) problems.push(`${label}: defined twice`);
      seen.add(id);
      // The cross-field checks assume the schema holds.
      if (problems.length === before) manifests.push({ label, doc });
    }
  }
  for (const { label, doc } of manifests) {
    for (const line of workloadProblems(doc)) {
      problems.push(`${label}: ${line}`);
    }
  }
  for (const { label, doc } of manifests) {
    if (doc.kind !== "Service") continue;
    for (const line of serviceProblems(doc, manifests)) {
      problems.push(`${label}: ${line}`);
    }
  }
  return problems;
}

/** The schema errors of a `validate()` failure, one line each. */
function schemaErrors(error: unknown): string[] {
  const errors = isRecord(error) && Array.isArray(error.errors)
    ? error.errors
    : [];
  if (errors.length === 0) return [message(error)];
  return errors.map((item: unknown) => {
    if (!isRecord(item)) return String(item);
    const path = pointerToPath(String(item.instancePath ?? ""));
    const params = isRecord(item.params) ? item.params : {};
    const at = path === "" ? "" : `${path}: `;
    if (item.keyword === "required") {
      return `${at}missing required field "${String(params.missingProperty)}"`;
    }
    if (item.keyword === "enum" && Array.isArray(params.allowedValues)) {
      return `${at}must be one of ${
        params.allowedValues.map((v: unknown) => JSON.stringify(v)).join(", ")
      }`;
    }
    return `${at}${String(item.message)}`;
  });
}

/** `/spec/containers/0/name` -> `spec.containers[0].name`. */
function pointerToPath(pointer: string): string {
  let path = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    path = joinPath(path, /^\d+$/.test(part) ? Number(part) : part);
  }
  return path;
}

function joinPath(path: string, part: string | number): string {
  if (typeof part === "number") return `${path}[${part}]`;
  if (!/^[A-Za-z_$][\w$]*$/.test(part)) {
    return `${path}[${JSON.stringify(part)}]`;
  }
  return path === "" ? part : `${path}.${part}`;
}

/**
 * The fields of `value` that its shape does not have, at any depth the
 * shapes reach (maps such as `labels` or `limits` are not walked).
 */
function unknownFields(value: unknown, shape: Shape, path = ""): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, i) =>
      unknownFields(item, shape, joinPath(path, i))
    );
  }
  if (!isRecord(value)) return [];
  const found: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const where = joinPath(path, key);
    if (!shape.fields.has(key)) {
      const near = nearest(key, shape.fields);
      found.push(
        `unknown field "${where}"${
          near === undefined ? "" : ` (did you mean "${near}"?)`
        }`,
      );
      continue;
    }
    const inner = shape.nested[key];
    if (inner !== undefined) found.push(...unknownFields(child, inner, where));
  }
  return found;
}

/** The known name within two edits of `name`, ignoring case, if one is. */
function nearest(name: string, names: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;

  /** Levenshtein distance. */
  function distance(a: string, b: string): number {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        next.push(Math.min(
          (row[j] ?? 0) + 1,
          (next[j - 1] ?? 0) + 1,
          (row[j - 1] ?? 0) + cost,
        ));
      }
      row = next;
    }
    return row[b.length] ?? 0;
  }
}

/** A DaemonSet's or Deployment's selector, labels and ports. */
function workloadProblems(doc: Record<string, unknown>): string[] {
  if (doc.kind !== "DaemonSet" && doc.kind !== "Deployment") return [];
  const problems: string[] = [];
  const spec = record(doc.spec);
  const matchLabels = record(record(spec.selector).matchLabels);
  const template = record(spec.template);
  const labels = record(record(template.metadata).labels);
  if (Object.keys(matchLabels).length === 0) {
    problems.push(
      "spec.selector.matchLabels: must select on at least one label",
    );
  }
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) {
      problems.push(
        `spec.selector.matchLabels: "${key}: ${
          String(value)
        }" is not among spec.template.metadata.labels, so the selector does not match the pods`,
      );
    }
  }
  const containers = list(record(template.spec).containers);
  for (const [i, container] of containers.entries()) {
    const at = `spec.template.spec.containers[${i}]`;
    const names = new Set<string>();
    for (const [j, port] of list(record(container).ports).entries()) {
      const name = record(port).name;
      if (typeof name !== "string") continue;
      const bad = portNameProblem(name);
      if (bad !== undefined) problems.push(`${at}.ports[${j}].name: ${bad}`);
      if (names.has(name)) {
        problems.push(`${at}.ports[${j}].name: "${name}" is used twice`);
      }
      names.add(name);
    }
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      const action = record(record(container)[probe]);
      for (const kind of ["httpGet", "tcpSocket"]) {
        const port = record(action[kind]).port;
        if (typeof port === "string" && !names.has(port)) {
          problems.push(
            `${at}.${probe}.${kind}.port: "${port}" is not a port name of this container`,
          );
        }
      }
    }
  }
  return problems;
}

/**
 * Kubernetes' rules for object names: a DNS label (Services, Namespaces) or
 * a DNS subdomain (the rest).
 */
function nameProblem(name: unknown, label: boolean): string | undefined {
  if (typeof name !== "string" || name === "") return "missing";
  const part = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
  const rule = label
    ? new RegExp(`^${part}$`)
    : new RegExp(`^${part}(\\.${part})*$`);
  const max = label ? 63 : 253;
  if (name.length > max || !rule.test(name)) {
    return `"${name}" is not a valid name: at most ${max} lowercase letters, digits and inner hyphens${
      label ? "" : " or dots"
    }`;
  }
  return undefined;
}

/** Kubernetes' IANA_SVC_NAME rule for port names. */
function portNameProblem(name: string): string | undefined {
  if (
    name.length > 15 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) ||
    name.includes("--") || !/[a-z]/.test(name)
  ) {
    return `"${name}" is not a valid port name: at most 15 lowercase letters, digits and single inner hyphens, with a letter`;
  }
  return undefined;
}

/** A Service must select a workload's pods, and name ports they have. */
function serviceProblems(
  doc: Record<string, unknown>,
  manifests: readonly Manifest[],
): string[] {
  const spec = record(doc.spec);
  const selector = record(spec.selector);
  if (Object.keys(selector).length === 0) return [];
  const podLabels = (m: Manifest) =>
    record(record(record(record(m.doc.spec).template).metadata).labels);
  const pods = manifests.filter((m) =>
    Object.entries(selector).every(([key, value]) =>
      podLabels(m)[key] === value
    )
  );
  if (pods.length === 0) {
    return [
      "spec.selector: matches the pods of no DaemonSet or Deployment here",
    ];
  }
  const portNames = new Set(
    pods.flatMap((m) =>
      list(record(record(record(m.doc.spec).template).spec).containers)
        .flatMap((c) => list(record(c).ports))
        .map((p) => record(p).name)
    ),
  );
  const problems: string[] = [];
  for (const [i, port] of list(spec.ports).entries()) {
    const target = record(port).targetPort;
    if (typeof target === "string" && !portNames.has(target)) {
      problems.push(
        `spec.ports[${i}].targetPort: "${target}" is not a port name of the selected pods`,
      );
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------
// kustomization.yaml

const KUSTOMIZATION_FIELDS = new Set([
  "apiVersion",
  "kind",
  "metadata",
  "namespace",
  "namePrefix",
  "nameSuffix",
  "labels",
  "commonLabels",
  "commonAnnotations",
  "resources",
  "components",
  "images",
  "replicas",
  "patches",
  "replacements",
  "configMapGenerator",
  "secretGenerator",
  "generatorOptions",
  "buildMetadata",
  "sortOptions",
]);

/**
 * Checks kustomization.yaml: a Kustomization whose `resources` are exactly
 * the manifests beside it, so none is forgotten by `kubectl apply -k`.
 *
 * @param file kustomization.yaml
 * @param manifests the names of the other YAML files in its folder
 * @returns the problems, one line each
 */
export function checkKustomization(
  file: SourceFile,
  manifests: readonly string[],
): string[] {
  let doc: unknown;
  try {
    doc = loadAll(file.text)[0];
  } catch (error) {
    return [`${file.path}: cannot parse YAML: ${message(error)}`];
  }
  if (!isRecord(doc)) return [`${file.path}: expected an object`];
  const problems: string[] = [];
  if (
    doc.apiVersion !== "kustomize.config.k8s.io/v1beta1" ||
    doc.kind !== "Kustomization"
  ) {
    problems.push(
      `${file.path}: expected "kustomize.config.k8s.io/v1beta1 Kustomization", got "${
        String(doc.apiVersion)
      } ${String(doc.kind)}"`,
    );
  }
  for (const key of Object.keys(doc)) {
    if (!KUSTOMIZATION_FIELDS.has(key)) {
      problems.push(`${file.path}: unknown field "${key}"`);
    }
  }
  const listed = list(doc.resources).map(String);
  for (const name of listed) {
    if (!manifests.includes(name)) {
      problems.push(`${file.path}: resources: "${name}" is not a file here`);
    }
  }
  for (const name of manifests) {
    if (!listed.includes(name)) {
      problems.push(`${file.path}: resources: "${name}" is not listed`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Containerfile

/**
 * Checks the Containerfile: in its last stage a numeric non-root `USER`,
 * `ENTRYPOINT` and `CMD` in exec form (`ENTRYPOINT` the program a `COPY`
 * put there), and every port of `EXPOSED_PORTS` exposed.
 *
 * @param file the Containerfile
 * @returns the problems, one line each
 */
export function checkContainerfile(file: SourceFile): string[] {
  const problems: string[] = [];
  const say = (line: string) => problems.push(`${file.path}: ${line}`);
  const all = instructions(file.text);
  const lastFrom = all.findLastIndex((i) => i.name === "FROM");
  if (lastFrom < 0) {
    say("no FROM instruction");
    return problems;
  }
  const stage = all.slice(lastFrom);
  const last = (name: string) => stage.findLast((i) => i.name === name)?.args;

  const user = last("USER");
  if (user === undefined) {
    say("no USER instruction: the container would run as root");
  } else {
    const [name = "", group] = user.split(":");
    if (name === "root" || /^0+$/.test(name)) {
      say(`USER "${user}" runs as root: use a non-root user such as 65532`);
    } else if (
      !/^\d+$/.test(name) || (group !== undefined && !/^\d+$/.test(group))
    ) {
      say(
        `USER "${user}" must be numeric (uid or uid:gid), or Kubernetes' runAsNonRoot cannot verify it`,
      );
    }
  }

  const entrypoint = execForm(last("ENTRYPOINT"));
  if (entrypoint === undefined) {
    say(`ENTRYPOINT must be exec form: ["${ENTRYPOINT}"]`);
  } else if (entrypoint.length !== 1 || entrypoint[0] !== ENTRYPOINT) {
    say(
      `ENTRYPOINT must be ["${ENTRYPOINT}"], not ${JSON.stringify(entrypoint)}`,
    );
  } else if (
    !stage.some((i) =>
      i.name === "COPY" && i.args.split(/\s+/).at(-1) === ENTRYPOINT
    )
  ) {
    say(`no COPY puts the program at "${ENTRYPOINT}"`);
  }
  const cmd = execForm(last("CMD"));
  if (cmd === undefined) say('CMD must be exec form, e.g. ["-s"]');

  const exposed = new Set(
    stage.filter((i) => i.name === "EXPOSE").flatMap((i) =>
      i.args.split(/\s+/).map((port) =>
        port.includes("/") ? port.toLowerCase() : `${port}/tcp`
      )
    ),
  );
  for (const port of EXPOSED_PORTS) {
    if (!exposed.has(port)) say(`no EXPOSE ${port}`);
  }
  return problems;
}

interface Instruction {
  readonly name: string;
  readonly args: string;
}

/** The instructions of a Containerfile, continuation lines joined. */
function instructions(text: string): Instruction[] {
  const found: Instruction[] = [];
  let pending = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && pending === "")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    const match = /^(\S+)\s*(.*)$/.exec(whole);
    if (match !== null) {
      found.push({
        name: (match[1] ?? "").toUpperCase(),
        args: (match[2] ?? "").trim(),
      });
    }
  }
  return found;
}

/** The argument list of an exec-form (JSON array) instruction. */
function execForm(args: string | undefined): string[] | undefined {
  if (args === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
      return value;
    }
  } catch {
    // Shell form.
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Prometheus

/** What `checkPrometheusConfig` also compares against. */
export interface PrometheusCheckOptions {
  /** The namespace the manifests go to; service discovery must look there. */
  namespace?: string;
}

const SD_ROLES = new Set([
  "node",
  "service",
  "pod",
  "endpoints",
  "endpointslice",
  "ingress",
]);
const KUBERNETES_SD_FIELDS = new Set([
  "role",
  "api_server",
  "kubeconfig_file",
  "namespaces",
  "selectors",
  "attach_metadata",
  // The HTTP client settings every discovery shares.
  "basic_auth",
  "authorization",
  "oauth2",
  "bearer_token",
  "bearer_token_file",
  "tls_config",
  "proxy_url",
  "no_proxy",
  "proxy_from_environment",
  "proxy_connect_header",
  "follow_redirects",
  "enable_http2",
]);

/**
 * Our own checks of a Prometheus config, which hold with or without
 * promtool: every job's `scrape_timeout` below its `scrape_interval`, a
 * probe's `period` short enough for the exporter's timeout (scrape timeout
 * minus 0.5 s, as iperf3_exporter computes it), and the
 * `kubernetes_sd_configs` (fields, roles, namespaces).
 *
 * @param file prometheus.yml
 * @param options the namespace discovery must search
 * @returns the problems, one line each
 */
export function checkPrometheusConfig(
  file: SourceFile,
  options: PrometheusCheckOptions = {},
): string[] {
  let doc: unknown;
  try {
    doc = loadAll(file.text)[0];
  } catch (error) {
    return [`${file.path}: cannot parse YAML: ${message(error)}`];
  }
  if (!isRecord(doc)) return [`${file.path}: expected an object`];
  const problems: string[] = [];
  const global = record(doc.global);
  const jobs = list(doc.scrape_configs);
  if (jobs.length === 0) problems.push(`${file.path}: no scrape_configs`);
  for (const [i, raw] of jobs.entries()) {
    const job = record(raw);
    const at = `${file.path}: job "${String(job.job_name ?? i)}"`;
    const interval = duration(
      job.scrape_interval ?? global.scrape_interval ?? "1m",
    );
    const timeout = duration(
      job.scrape_timeout ?? global.scrape_timeout ?? "10s",
    );
    if (interval === undefined || timeout === undefined) {
      problems.push(
        `${at}: scrape_interval and scrape_timeout must be durations such as "30s"`,
      );
      continue;
    }
    if (timeout >= interval) {
      problems.push(
        `${at}: scrape_timeout (${
          timeout / 1000
        } s) must be below scrape_interval (${interval / 1000} s)`,
      );
    }
    const period = list(record(job.params).period)[0];
    if (job.metrics_path === "/probe" && period !== undefined) {
      const ms = duration(period);
      if (ms === undefined) {
        problems.push(
          `${at}: params.period "${String(period)}" is not a duration`,
        );
      } else if (ms >= timeout - 500) {
        problems.push(
          `${at}: params.period (${
            ms / 1000
          } s) must be below scrape_timeout - 0.5 s (${
            (timeout - 500) / 1000
          } s), or the exporter shortens the test`,
        );
      }
    }
    for (const [j, sd] of list(job.kubernetes_sd_configs).entries()) {
      const where = `${at}: kubernetes_sd_configs[${j}]`;
      for (const key of Object.keys(record(sd))) {
        if (!KUBERNETES_SD_FIELDS.has(key)) {
          problems.push(`${where}: unknown field "${key}"`);
        }
      }
      const role = record(sd).role;
      if (typeof role !== "string" || !SD_ROLES.has(role)) {
        problems.push(
          `${where}: role "${String(role)}" is not one of ${
            [...SD_ROLES].map((r) => `"${r}"`).join(", ")
          }`,
        );
      }
      for (const selector of list(record(sd).selectors)) {
        const selectorRole = record(selector).role;
        if (typeof selectorRole !== "string" || !SD_ROLES.has(selectorRole)) {
          problems.push(
            `${where}: selector role "${String(selectorRole)}" is not a role`,
          );
        }
      }
      const names = list(record(record(sd).namespaces).names);
      if (
        options.namespace !== undefined &&
        !names.includes(options.namespace)
      ) {
        problems.push(
          `${where}: namespaces.names must include "${options.namespace}", where deploy/kubernetes puts the pods`,
        );
      }
    }
  }
  return problems;
}

/** A Prometheus duration (`1h30m`, `15s`, `500ms`) in milliseconds. */
function duration(value: unknown): number | undefined {
  if (typeof value !== "string" || value === "" || value === "0") {
    return value === "0" ? 0 : undefined;
  }
  const units: Record<string, number> = {
    y: 31_536_000_000,
    w: 604_800_000,
    d: 86_400_000,
    h: 3_600_000,
    m: 60_000,
    s: 1_000,
    ms: 1,
  };
  let total = 0;
  let rest = value;
  while (rest !== "") {
    const match = /^(\d+)(ms|y|w|d|h|m|s)/.exec(rest);
    if (match === null) return undefined;
    total += Number(match[1]) * (units[match[2] ?? ""] ?? 0);
    rest = rest.slice(match[0].length);
  }
  return total;
}

/**
 * Checks that the ConfigMap in kubernetes/prometheus-configmap.yaml carries
 * exactly the text of prometheus.yml.
 *
 * @param configMap the ConfigMap manifest
 * @param config prometheus.yml
 * @returns the problems, one line each
 */
export function checkConfigMapCopy(
  configMap: SourceFile,
  config: SourceFile,
): string[] {
  let doc: unknown;
  try {
    doc = loadAll(configMap.text)[0];
  } catch (error) {
    return [`${configMap.path}: cannot parse YAML: ${message(error)}`];
  }
  const copy = record(record(doc).data)["prometheus.yml"];
  if (copy === undefined) {
    return [`${configMap.path}: data has no "prometheus.yml" key`];
  }
  if (copy !== config.text) {
    const a = String(copy).split("\n");
    const b = config.text.split("\n");
    const line = b.findIndex((text, i) => a[i] !== text) + 1 ||
      Math.min(a.length, b.length) + 1;
    return [
      `${configMap.path}: data["prometheus.yml"] differs from ${config.path} from its line ${line}: copy the file in again`,
    ];
  }
  return [];
}

/** The result of `runPromtool`. */
export type PromtoolResult =
  /** promtool accepted the config; `note` says when only in part. */
  | { kind: "ok"; note?: string }
  /** promtool rejected it; `output` is what it printed. */
  | { kind: "failed"; output: string }
  /** promtool could not be run; `reason` says why. */
  | { kind: "skipped"; reason: string };

/** Options for `runPromtool`. */
export interface PromtoolOptions {
  /** The promtool executable; `promtool` (from PATH) by default. */
  promtool?: string;
  /** Cancels the run. */
  signal?: AbortSignal;
}

/** Debian's build leaves Kubernetes discovery out, and says so this way. */
const NO_KUBERNETES_SD = /field kubernetes_sd_configs not found/;

/**
 * Runs `promtool check config` on a Prometheus config (given on standard
 * input, as `/dev/stdin`). Debian's promtool is built without Kubernetes
 * service discovery and rejects `kubernetes_sd_configs` as an unknown
 * field; then the config is checked again with each of those replaced by an
 * empty `static_configs`, so promtool still checks everything else, and the
 * result says so (`checkPrometheusConfig` checks those blocks).
 *
 * @param text the config
 * @param options the promtool executable, a signal
 * @returns ok, failed with promtool's output, or skipped with the reason
 */
export async function runPromtool(
  text: string,
  options: PromtoolOptions = {},
): Promise<PromtoolResult> {
  options.signal?.throwIfAborted();
  const promtool = options.promtool ?? "promtool";
  const first = await check(text);
  if (first.kind !== "failed" || !NO_KUBERNETES_SD.test(first.output)) {
    return first;
  }
  const doc = record(loadAll(text)[0]);
  const jobs = list(doc.scrape_configs).map((raw) => {
    const { kubernetes_sd_configs: sd, ...job } = record(raw);
    return sd === undefined ? job : { ...job, static_configs: [] };
  });
  // JSON is YAML, and it leaves no anchors or aliases to resolve.
  const second = await check(JSON.stringify({ ...doc, scrape_configs: jobs }));
  if (second.kind !== "ok") return second;
  return {
    kind: "ok",
    note:
      "Debian's promtool lacks Kubernetes discovery, so it checked all but kubernetes_sd_configs",
  };

  async function check(config: string): Promise<PromtoolResult> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(promtool, {
        args: ["check", "config", "/dev/stdin"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return {
          kind: "skipped",
          reason:
            `${promtool} is not on PATH (Debian: apt-get install --no-install-recommends prometheus)`,
        };
      }
      if (error instanceof Deno.errors.NotCapable) {
        return { kind: "skipped", reason: `not allowed to run ${promtool}` };
      }
      throw error;
    }
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(config));
    await writer.close();
    const out = await child.output();
    const decoder = new TextDecoder();
    const output = (decoder.decode(out.stdout) + decoder.decode(out.stderr))
      .trim();
    return out.success ? { kind: "ok" } : { kind: "failed", output };
  }
}

// ---------------------------------------------------------------------------
// All of deploy/

/** Options for `checkDeploy`. */
export interface CheckDeployOptions {
  /**
   * The promtool executable; `promtool` by default, `false` to leave
   * promtool out.
   */
  promtool?: string | false;
  /** Cancels the promtool run. */
  signal?: AbortSignal;
}

/** What `checkDeploy` found. */
export interface DeployReport {
  /** The files checked, relative to the root. */
  files: string[];
  /** Everything wrong, one line each; empty when all is well. */
  problems: string[];
  /** What was skipped or checked only in part, and why. */
  notes: string[];
}

/**
 * Checks all of deploy/: the manifests, kustomization.yaml, the
 * Containerfile, prometheus.yml and its ConfigMap copy, and promtool.
 *
 * @param root the project root (the folder holding deploy/)
 * @param options promtool, a signal
 * @returns the files checked, the problems and the notes
 */
export async function checkDeploy(
  root: string = ROOT,
  options: CheckDeployOptions = {},
): Promise<DeployReport> {
  options.signal?.throwIfAborted();
  const kubernetes = join("deploy", "kubernetes");
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(root, kubernetes))) {
    if (entry.isFile && /\.ya?ml$/.test(entry.name)) names.push(entry.name);
  }
  names.sort();
  const read = async (path: string): Promise<SourceFile> => ({
    path,
    text: await Deno.readTextFile(join(root, path)),
  });
  const kustomization = await read(join(kubernetes, "kustomization.yaml"));
  const manifestNames = names.filter((n) => n !== "kustomization.yaml");
  const manifests = await Promise.all(
    manifestNames.map((n) => read(join(kubernetes, n))),
  );
  const containerfile = await read(join("deploy", "Containerfile"));
  const prometheus = await read(join("deploy", "prometheus", "prometheus.yml"));
  const configMap = manifests.find((m) =>
    m.path.endsWith("prometheus-configmap.yaml")
  );

  const namespace = kustomizationNamespace(kustomization.text);
  const problems = [
    ...checkManifests(manifests),
    ...checkKustomization(kustomization, manifestNames),
    ...checkContainerfile(containerfile),
    ...checkPrometheusConfig(
      prometheus,
      namespace === undefined ? {} : { namespace },
    ),
    ...(configMap === undefined
      ? [`${kubernetes}: no prometheus-configmap.yaml`]
      : checkConfigMapCopy(configMap, prometheus)),
  ];
  const notes: string[] = [];
  if (options.promtool === false) {
    notes.push("promtool check config: left out");
  } else {
    const result = await runPromtool(prometheus.text, {
      ...(options.promtool === undefined ? {} : { promtool: options.promtool }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (result.kind === "failed") {
      problems.push(
        `${prometheus.path}: promtool check config failed: ${result.output}`,
      );
    } else if (result.kind === "skipped") {
      notes.push(`promtool check config: skipped: ${result.reason}`);
    } else {
      notes.push(
        `promtool check config: passed${
          result.note === undefined ? "" : ` (${result.note})`
        }`,
      );
    }
  }
  return {
    files: [
      ...manifests.map((m) => m.path),
      kustomization.path,
      containerfile.path,
      prometheus.path,
    ],
    problems,
    notes,
  };

  function kustomizationNamespace(text: string): string | undefined {
    try {
      const value = record(loadAll(text)[0]).namespace;
      return typeof value === "string" ? value : undefined;
    } catch {
      return undefined; // checkKustomization reports it
    }
  }
}

// ---------------------------------------------------------------------------
// Helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value as an object, or an empty one. */
function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** The value as a list, or an empty one. */
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function typeName(value: unknown): string {
  return Array.isArray(value) ? "a list" : typeof value;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function write(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.byteLength) {
    written += file.writeSync(bytes.subarray(written));
  }
}

async function main(): Promise<number> {
  const report = await checkDeploy(ROOT);
  for (const line of report.problems) {
    write(Deno.stderr, `check:deploy: ${line}\n`);
  }
  for (const line of report.notes) {
    write(Deno.stdout, `check:deploy: ${line}\n`);
  }
  write(
    Deno.stdout,
    `check:deploy: ${report.files.length} files, ${report.problems.length} problems\n`,
  );
  return report.problems.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main());
}
