/**
 * infra/k8s checked by parsing: variable names and secrecy against env.ts, values against the
 * configuration's validation, workloads against the components' subcommands and health port, and
 * the kustomizations against the files on disk. When kubectl is installed, the overlay is also
 * rendered with its built-in kustomize.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { defaults, envVars, repoRoot } from '../../../src/core/config/index.ts';
import { type EnvFile, readEnvFile } from './env-file.ts';
import {
  components,
  healthPath,
  healthPort,
  initSteps,
  isEnvVarName,
  loadFromEnv,
  readText,
  requiredInDeployments,
  stackOnly,
  unknownVariableMentions,
} from './settings.ts';

interface Kustomization {
  namespace?: string;
  resources?: string[];
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
  images?: { name: string; newName?: string; newTag?: string }[];
  replicas?: { name: string; count: number }[];
}

interface Generator {
  name: string;
  behavior?: string;
  envs?: string[];
  literals?: string[];
  files?: string[];
}

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}

interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: {
    requests?: { cpu?: string; memory?: string };
    limits?: { cpu?: string; memory?: string };
  };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  restartPolicy?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string }[];
}

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    selector?: Record<string, unknown>;
    template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
    ports?: { name?: string; port: number; targetPort?: string | number }[];
  };
  data?: Record<string, string>;
}

const k8s = path.join(repoRoot, 'infra', 'k8s');
const baseDir = path.join(k8s, 'base');
const overlayDir = path.join(k8s, 'overlays', 'local');

function readKustomization(folder: string): Kustomization {
  return parse(readText(path.join(folder, 'kustomization.yaml'))) as Kustomization;
}

function readResources(folder: string, files: readonly string[]): Resource[] {
  return files.flatMap((f) =>
    parseAllDocuments(readText(path.join(folder, f)))
      .map((d) => d.toJS() as Resource | null)
      .filter((r): r is Resource => r !== null),
  );
}

const base = readKustomization(baseDir);
const overlay = readKustomization(overlayDir);
const baseResources = readResources(
  baseDir,
  (base.resources ?? []).filter((r) => r.endsWith('.yaml')),
);

function generator(
  k: Kustomization,
  kind: 'configMapGenerator' | 'secretGenerator',
  name: string,
): Generator {
  const g = k[kind]?.find((x) => x.name === name);
  if (g === undefined) throw new Error(`no ${kind} ${name}`);
  return g;
}

/** The union of a generator's env files, in order. */
function generatorEnv(folder: string, g: Generator): EnvFile[] {
  return (g.envs ?? []).map((f) => readEnvFile(path.join(folder, f)));
}

function literals(g: Generator): Record<string, string> {
  return Object.fromEntries(
    (g.literals ?? []).map((l) => {
      const eq = l.indexOf('=');
      return [l.slice(0, eq), l.slice(eq + 1)];
    }),
  );
}

const configGen = generator(base, 'configMapGenerator', 'amoskys-config');
const secretGen = generator(base, 'secretGenerator', 'amoskys-secrets');
const configFiles = generatorEnv(baseDir, configGen);
const secretFiles = generatorEnv(baseDir, secretGen);
const config: Record<string, string> = Object.assign({}, ...configFiles.map((f) => f.values));
const secrets: Record<string, string> = Object.assign({}, ...secretFiles.map((f) => f.values));
const overlayConfig = literals(generator(overlay, 'configMapGenerator', 'amoskys-config'));

const isSecret = (name: string) => isEnvVarName(name) && envVars[name].secret;

function byKind(kind: string): Resource[] {
  return baseResources.filter((r) => r.kind === kind);
}

function podSpec(r: Resource): PodSpec {
  const spec = r.spec?.template?.spec;
  if (spec === undefined) throw new Error(`${r.kind}/${r.metadata.name} has no pod template`);
  return spec;
}

function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** CPU quantity in millicores (`500m`, `1`, `1.5`). */
function millicores(q: string | undefined): number {
  if (q === undefined) return Number.NaN;
  return q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000;
}

/** Memory quantity in bytes (`256Mi`, `1Gi`, `500M`). */
function bytes(q: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(q ?? '');
  if (m?.[1] === undefined) return Number.NaN;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

const deployments = byKind('Deployment');
const workloads = [...deployments, ...byKind('Job')];

describe('infra/k8s/base configuration', () => {
  it('generates the ConfigMap and the Secret from env files', () => {
    expect(configGen.envs?.length).toBeGreaterThan(0);
    expect(secretGen.envs?.length).toBeGreaterThan(0);
    expect(Object.keys(config).length).toBeGreaterThan(0);
    expect(Object.keys(secrets).length).toBeGreaterThan(0);
  });

  it('sets only AMOSKYS_* variables of env.ts', () => {
    const names = [
      ...Object.keys(config),
      ...Object.keys(secrets),
      ...Object.keys(overlayConfig),
      ...[...configFiles, ...secretFiles].flatMap((f) => f.commentedKeys),
    ];
    expect(names.filter((n) => !isEnvVarName(n))).toEqual([]);
  });

  it('keeps secrets out of the ConfigMap and everything else out of the Secret', () => {
    expect(Object.keys(config).filter(isSecret)).toEqual([]);
    expect(Object.keys(overlayConfig).filter(isSecret)).toEqual([]);
    expect(configFiles.flatMap((f) => f.commentedKeys).filter(isSecret)).toEqual([]);
    expect(Object.keys(secrets).filter((n) => !isSecret(n))).toEqual([]);
    expect(secretFiles.flatMap((f) => f.commentedKeys).filter((n) => !isSecret(n))).toEqual([]);
  });

  it('commits only placeholder secrets', () => {
    for (const [name, value] of Object.entries(secrets)) expect(value, name).toMatch(/^CHANGE-ME/);
  });

  it('sets every setting a deployed component needs, and none of the native stack', () => {
    const set = { ...config, ...secrets, ...overlayConfig };
    expect(requiredInDeployments.filter((n) => set[n] === undefined)).toEqual([]);
    expect(Object.keys(set).filter((n) => stackOnly.has(n))).toEqual([]);
  });

  it('passes the configuration validation, base and overlay, without warnings', () => {
    for (const env of [
      { ...config, ...secrets },
      { ...config, ...overlayConfig, ...secrets },
    ]) {
      const { config: loaded, warnings } = loadFromEnv(env);
      expect(warnings).toEqual([]);
      expect(loaded.kafka.brokers).toEqual(env.AMOSKYS_KAFKA_BROKERS?.split(','));
      expect(loaded.clickhouse.password).toBe(secrets.AMOSKYS_CLICKHOUSE_PASSWORD);
    }
  });

  it('names the topics of the contract', () => {
    for (const [name, spec] of Object.entries(envVars)) {
      if (!spec.path.startsWith('topics.')) continue;
      const key = spec.path.slice('topics.'.length) as keyof typeof defaults.topics;
      expect(config[name], name).toBe(defaults.topics[key]);
    }
  });

  it('mentions no variable that does not exist, in any file', () => {
    for (const file of [
      'base/kustomization.yaml',
      'base/config.env',
      'base/secrets.env',
      ...(base.resources ?? []).map((r) => `base/${r}`),
      'overlays/local/kustomization.yaml',
    ]) {
      expect(unknownVariableMentions(readText(path.join(k8s, file))), file).toEqual([]);
    }
  });
});

describe('infra/k8s kustomizations', () => {
  it('list resources and generator files that exist', () => {
    for (const [folder, k] of [
      [baseDir, base],
      [overlayDir, overlay],
    ] as const) {
      for (const r of k.resources ?? []) {
        const target = path.resolve(folder, r);
        expect(existsSync(target), `${folder}: ${r}`).toBe(true);
        if (statSync(target).isDirectory())
          expect(existsSync(path.join(target, 'kustomization.yaml')), r).toBe(true);
      }
      for (const g of [...(k.configMapGenerator ?? []), ...(k.secretGenerator ?? [])]) {
        for (const f of [...(g.envs ?? []), ...(g.files ?? [])]) {
          expect(existsSync(path.resolve(folder, f)), `${folder}: ${f}`).toBe(true);
        }
      }
    }
  });

  it('build the overlay on the base, merging into generators that exist there', () => {
    expect(overlay.resources?.map((r) => path.resolve(overlayDir, r))).toContain(baseDir);
    for (const g of overlay.configMapGenerator ?? []) {
      expect(g.behavior, g.name).toMatch(/^(merge|replace)$/);
      expect(base.configMapGenerator?.map((x) => x.name)).toContain(g.name);
    }
    const deploymentNames = deployments.map((d) => d.metadata.name);
    for (const r of overlay.replicas ?? []) expect(deploymentNames).toContain(r.name);
    for (const i of [...(base.images ?? []), ...(overlay.images ?? [])]) expect(i.name).toBe('amoskys');
  });

  it('put everything in the namespace they create', () => {
    const namespaces = byKind('Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual([base.namespace]);
    expect(base.namespace).toBe('amoskys');
  });
});

describe('infra/k8s workloads', () => {
  it('run one Deployment per component with its subcommand', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(components).sort());
    for (const d of deployments) {
      const [container, ...others] = podSpec(d).containers;
      expect(others, d.metadata.name).toEqual([]);
      expect(container?.args, d.metadata.name).toEqual(
        components[d.metadata.name as keyof typeof components],
      );
      expect(container?.command, d.metadata.name).toBeUndefined();
    }
  });

  it('run the init steps in order in one Job', () => {
    const jobs = byKind('Job');
    expect(jobs.map((j) => j.metadata.name)).toEqual(['init']);
    const [job] = jobs;
    if (job === undefined) return;
    const spec = podSpec(job);
    expect(allContainers(spec).map((c) => c.args)).toEqual(initSteps);
    expect(spec.restartPolicy).toMatch(/^(OnFailure|Never)$/);
  });

  it('probe /healthz on the declared metrics port', () => {
    for (const d of deployments) {
      const [c] = podSpec(d).containers;
      const ports = c?.ports ?? [];
      expect(ports, d.metadata.name).toContainEqual({
        name: 'metrics',
        containerPort: healthPort,
        protocol: 'TCP',
      });
      for (const kind of ['livenessProbe', 'readinessProbe'] as const) {
        const get = c?.[kind]?.httpGet;
        expect(get?.path, `${d.metadata.name} ${kind}`).toBe(healthPath);
        const port = ports.find((p) => p.name === get?.port || p.containerPort === get?.port);
        expect(port?.containerPort, `${d.metadata.name} ${kind}`).toBe(healthPort);
      }
      if (c?.startupProbe !== undefined) expect(c.startupProbe.httpGet?.path).toBe(healthPath);
    }
  });

  it('expose the metrics port through a Service per component', () => {
    const services = byKind('Service');
    for (const d of deployments) {
      const labels = d.spec?.template?.metadata?.labels ?? {};
      expect(d.spec?.selector?.matchLabels, d.metadata.name).toEqual(
        expect.objectContaining({ 'app.kubernetes.io/component': d.metadata.name }),
      );
      const svc = services.find((s) => s.metadata.name === d.metadata.name);
      const selector = Object.entries(svc?.spec?.selector ?? {});
      expect(selector.length, d.metadata.name).toBeGreaterThan(0);
      for (const [k, v] of selector) expect(labels[k], `${d.metadata.name}: ${k}`).toBe(v);
      const targets = (svc?.spec?.ports ?? []).map((p) => p.targetPort);
      expect(targets, d.metadata.name).toContain('metrics');
    }
  });

  it('read the generated ConfigMap and Secret, and the one image', () => {
    for (const w of workloads) {
      for (const c of allContainers(podSpec(w))) {
        const name = `${w.metadata.name}/${c.name}`;
        expect(c.envFrom, name).toEqual([
          { configMapRef: { name: configGen.name } },
          { secretRef: { name: secretGen.name } },
        ]);
        // Settings come from the generated objects only, where the tests above can see them.
        expect(c.env, name).toBeUndefined();
        expect(c.image, name).toBe('amoskys:latest');
      }
    }
  });

  it('run as non-root on a read-only root filesystem, writing only to mounted volumes', () => {
    for (const w of workloads) {
      const spec = podSpec(w);
      expect(spec.securityContext?.runAsNonRoot, w.metadata.name).toBe(true);
      expect(spec.securityContext?.runAsUser, w.metadata.name).toBeGreaterThan(0);
      const volumes = (spec.volumes ?? []).map((v) => v.name);
      for (const c of allContainers(spec)) {
        const name = `${w.metadata.name}/${c.name}`;
        expect(c.securityContext?.readOnlyRootFilesystem, name).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, name).toBe(false);
        expect(c.securityContext?.capabilities?.drop, name).toEqual(['ALL']);
        const mounts = c.volumeMounts ?? [];
        expect(
          mounts.map((m) => m.mountPath),
          name,
        ).toContain(config.AMOSKYS_STATE_DIR);
        for (const m of mounts) expect(volumes, `${name}: ${m.name}`).toContain(m.name);
      }
    }
  });

  it('fit on a 2-core node: requests within limits, all replicas within 2 cores', () => {
    let cpuRequests = 0;
    for (const w of workloads) {
      const replicas = w.kind === 'Deployment' ? (w.spec?.replicas ?? 1) : 1;
      for (const c of podSpec(w).containers) {
        const name = `${w.metadata.name}/${c.name}`;
        const { requests, limits } = c.resources ?? {};
        expect(millicores(requests?.cpu), name).toBeLessThanOrEqual(millicores(limits?.cpu));
        expect(bytes(requests?.memory), name).toBeLessThanOrEqual(bytes(limits?.memory));
        expect(millicores(limits?.cpu), name).toBeLessThanOrEqual(2000);
        cpuRequests += replicas * millicores(requests?.cpu);
      }
      for (const c of podSpec(w).initContainers ?? []) {
        expect(millicores(c.resources?.requests?.cpu), c.name).toBeLessThanOrEqual(
          millicores(c.resources?.limits?.cpu),
        );
      }
    }
    // Leaves room for the node's own daemons.
    expect(cpuRequests).toBeLessThanOrEqual(1600);
  });
});

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!kubectl)('infra/k8s rendered with kubectl kustomize', () => {
  const rendered = parseAllDocuments(
    execFileSync('kubectl', ['kustomize', overlayDir], { encoding: 'utf8' }),
  ).map((d) => d.toJS() as Resource);

  it('renders every object into the namespace, with the overlay image', () => {
    for (const r of rendered.filter((x) => x.kind !== 'Namespace')) {
      expect(r.metadata.namespace, `${r.kind}/${r.metadata.name}`).toBe('amoskys');
    }
    for (const r of rendered.filter((x) => x.spec?.template !== undefined)) {
      for (const c of allContainers(podSpec(r)))
        expect(c.image).toBe(`amoskys:${overlay.images?.[0]?.newTag}`);
    }
  });

  it('points envFrom at the hashed ConfigMap and Secret, which hold what the files say', () => {
    const configMap = rendered.find((r) => r.kind === 'ConfigMap');
    const secret = rendered.find((r) => r.kind === 'Secret');
    expect(configMap?.metadata.name).toMatch(/^amoskys-config-[a-z0-9]{10}$/);
    expect(configMap?.data).toEqual({ ...config, ...overlayConfig });
    const decoded = Object.fromEntries(
      Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    expect(decoded).toEqual(secrets);
    for (const r of rendered.filter((x) => x.spec?.template !== undefined)) {
      for (const c of allContainers(podSpec(r))) {
        expect(c.envFrom).toEqual([
          { configMapRef: { name: configMap?.metadata.name } },
          { secretRef: { name: secret?.metadata.name } },
        ]);
      }
    }
  });
});
