/**
 * infra/compose checked by parsing: no Docker engine runs on the project's machines. The checks tie
 * the files to the code: variable names to env.ts, values to the configuration's validation, host
 * ports to defaults.ts, endpoints to the services and ports that exist in the file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaults, envVars, repoRoot } from '../../../src/core/config/index.ts';
import { readEnvFile } from './env-file.ts';
import {
  components,
  healthPath,
  healthPort,
  initSteps,
  isEnvVarName,
  loadFromEnv,
  readText,
  requiredInDeployments,
  splitHostPort,
  stackOnly,
  unknownVariableMentions,
  urlPort,
} from './settings.ts';

interface PortObject {
  target: number;
  published?: string | number;
  host_ip?: string;
  protocol?: string;
}

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  hostname?: string;
  env_file?: string | (string | { path: string })[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | PortObject)[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  command?: string | string[];
  entrypoint?: string | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
}

interface ComposeFile {
  version?: unknown;
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const dir = path.join(repoRoot, 'infra', 'compose');
const composeText = readText(path.join(dir, 'compose.yaml'));
// Compose supports YAML merge keys (`<<: *anchor`); the file uses them for the shared parts.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const envFile = readEnvFile(path.join(dir, 'amoskys.env'));
const env = envFile.values;
const dockerfile = readText(path.join(dir, 'Dockerfile'));
const snmpdConf = readText(path.join(dir, 'snmpd', 'snmpd.conf'));
const snmpdDockerfile = readText(path.join(dir, 'snmpd', 'Dockerfile'));

const infrastructure = ['kafka', 'schema-registry', 'clickhouse', 'snmpd'] as const;
const componentNames = Object.keys(components) as (keyof typeof components)[];

function service(name: string): Service {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`compose.yaml has no service ${name}`);
  return s;
}

function environmentOf(s: Service): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(s.environment)) {
    for (const item of s.environment) {
      const eq = item.indexOf('=');
      out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
    }
  } else {
    for (const [k, v] of Object.entries(s.environment ?? {})) out[k] = v === null ? '' : String(v);
  }
  return out;
}

function envFilesOf(s: Service): string[] {
  if (s.env_file === undefined) return [];
  const list = Array.isArray(s.env_file) ? s.env_file : [s.env_file];
  return list.map((e) => (typeof e === 'string' ? e : e.path));
}

function dependsOf(s: Service): Record<string, string> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, 'service_started']));
  return Object.fromEntries(
    Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v.condition ?? 'service_started']),
  );
}

interface Published {
  hostIp: string | undefined;
  published: number;
  target: number;
  protocol: string;
}

/** Compose port entries, short (`[ip:]published:target[/proto]`) or long syntax. */
function publishedPorts(s: Service): Published[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return {
        hostIp: p.host_ip,
        published: Number(p.published ?? Number.NaN),
        target: p.target,
        protocol: p.protocol ?? 'tcp',
      };
    }
    const [spec = '', protocol = 'tcp'] = String(p).split('/');
    const parts = spec.split(':');
    if (parts.length < 2 || parts.length > 3 || parts.some((x) => x.includes('-'))) {
      throw new Error(`port ${JSON.stringify(p)}: publish one port as [ip:]published:target`);
    }
    const target = Number(parts.at(-1));
    const published = Number(parts.at(-2));
    return { hostIp: parts.length === 3 ? parts[0] : undefined, published, target, protocol };
  });
}

function healthTest(s: Service): string {
  const t = s.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : (t ?? '');
}

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** `NAME://host:port,...` (Kafka listener lists) as name -> host and port. */
function listeners(value: string | undefined): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const item of (value ?? '').split(',').filter((x) => x !== '')) {
    const m = /^([A-Z_]+):\/\/(.*):(\d+)$/.exec(item.trim());
    if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) {
      throw new Error(`listener ${JSON.stringify(item)}: expected NAME://host:port`);
    }
    out.set(m[1], { host: m[2], port: Number(m[3]) });
  }
  return out;
}

const kafkaEnv = environmentOf(service('kafka'));
const kafkaListeners = listeners(kafkaEnv.KAFKA_LISTENERS);
const kafkaAdvertised = listeners(kafkaEnv.KAFKA_ADVERTISED_LISTENERS);
const kafkaControllerNames = new Set((kafkaEnv.KAFKA_CONTROLLER_LISTENER_NAMES ?? '').split(','));

/** snmpd.conf directives (first word) with their arguments, comments dropped. */
const snmpdDirectives = snmpdConf
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => l.split(/\s+/));

function snmpdDirective(name: string): string[][] {
  return snmpdDirectives.filter((d) => d[0]?.toLowerCase() === name.toLowerCase()).map((d) => d.slice(1));
}

const snmpdPorts = snmpdDirective('agentAddress').flatMap((args) =>
  (args[0] ?? '').split(',').map((a) => Number(a.split(':').at(-1))),
);

/** Ports each service accepts client connections on, from its own configuration. */
function listeningPorts(name: string): number[] {
  const s = service(name);
  switch (name) {
    case 'kafka':
      return [...kafkaListeners].filter(([n]) => !kafkaControllerNames.has(n)).map(([, l]) => l.port);
    case 'schema-registry':
      return (environmentOf(s).SCHEMA_REGISTRY_LISTENERS ?? '').split(',').map((u) => urlPort(new URL(u)));
    case 'snmpd':
      return snmpdPorts;
    default:
      return [...publishedPorts(s).map((p) => p.target), ...(s.expose ?? []).map(Number)];
  }
}

/** Names a container of the compose network resolves: service names and explicit hostnames. */
function serviceByHost(host: string): string | undefined {
  return Object.entries(compose.services).find(([n, s]) => n === host || s.hostname === host)?.[0];
}

const amoskysServices = Object.entries(compose.services)
  .filter(([, s]) => typeof s.build === 'object' && s.build.dockerfile === 'infra/compose/Dockerfile')
  .map(([n]) => n)
  .sort();

describe('infra/compose/amoskys.env', () => {
  it('sets only AMOSKYS_* variables of env.ts, in the subset compose and kustomize read alike', () => {
    expect(envFile.entries.length).toBeGreaterThan(0);
    expect(envFile.entries.map((e) => e.key).filter((k) => !isEnvVarName(k))).toEqual([]);
    expect(envFile.commentedKeys.filter((k) => !isEnvVarName(k))).toEqual([]);
  });

  it('sets every setting a deployed component needs, and none of the native stack', () => {
    expect(requiredInDeployments.filter((n) => env[n] === undefined)).toEqual([]);
    expect(Object.keys(env).filter((n) => stackOnly.has(n))).toEqual([]);
  });

  it('passes the configuration validation, without warnings, to the values written', () => {
    const { config, warnings } = loadFromEnv(env);
    expect(warnings).toEqual([]);
    expect(config.kafka.brokers).toEqual(env.AMOSKYS_KAFKA_BROKERS?.split(','));
    expect(config.registry.url).toBe(env.AMOSKYS_REGISTRY_URL);
    expect(config.clickhouse.url).toBe(env.AMOSKYS_CLICKHOUSE_URL);
    expect(config.snmp.port).toBe(Number(env.AMOSKYS_SNMP_PORT));
  });

  it('names the topics of the contract', () => {
    for (const [name, spec] of Object.entries(envVars)) {
      if (!spec.path.startsWith('topics.')) continue;
      const key = spec.path.slice('topics.'.length) as keyof typeof defaults.topics;
      expect(env[name], name).toBe(defaults.topics[key]);
    }
    expect(Object.keys(env).filter((k) => k.startsWith('AMOSKYS_TOPIC_'))).toHaveLength(
      Object.keys(defaults.topics).length,
    );
  });

  it('points every endpoint at a compose service, on a port that service listens on', () => {
    const endpoints: { variable: string; host: string; port: number }[] = [
      ...(env.AMOSKYS_KAFKA_BROKERS ?? '')
        .split(',')
        .map((b) => ({ variable: 'AMOSKYS_KAFKA_BROKERS', ...splitHostPort(b) })),
      ...(['AMOSKYS_REGISTRY_URL', 'AMOSKYS_CLICKHOUSE_URL'] as const).map((variable) => {
        const url = new URL(env[variable] ?? '');
        return { variable, host: url.hostname, port: urlPort(url) };
      }),
      {
        variable: 'AMOSKYS_SNMP_HOST',
        host: env.AMOSKYS_SNMP_HOST ?? '',
        port: Number(env.AMOSKYS_SNMP_PORT),
      },
    ];
    const expected = {
      AMOSKYS_KAFKA_BROKERS: 'kafka',
      AMOSKYS_REGISTRY_URL: 'schema-registry',
      AMOSKYS_CLICKHOUSE_URL: 'clickhouse',
      AMOSKYS_SNMP_HOST: 'snmpd',
    } as const;
    for (const { variable, host, port } of endpoints) {
      const target = serviceByHost(host);
      expect(target, `${variable}: host ${host}`).toBe(expected[variable as keyof typeof expected]);
      expect(listeningPorts(target ?? ''), `${variable}: ${host}:${port}`).toContain(port);
    }
  });

  it('gives Kafka clients in the network the advertised internal listener', () => {
    // A client bootstraps, then uses the advertised address of the listener it connected to.
    for (const broker of (env.AMOSKYS_KAFKA_BROKERS ?? '').split(',')) {
      const { host, port } = splitHostPort(broker);
      const name = [...kafkaListeners].find(([, l]) => l.port === port)?.[0] ?? '';
      expect(kafkaAdvertised.get(name), broker).toEqual({ host, port });
    }
    const registryStore =
      environmentOf(service('schema-registry')).SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS ?? '';
    expect(registryStore.replace(/^[A-Z_]+:\/\//, '')).toBe(env.AMOSKYS_KAFKA_BROKERS);
  });

  it('uses the API root of Confluent Schema Registry (not the Apicurio path of the defaults)', () => {
    expect(new URL(env.AMOSKYS_REGISTRY_URL ?? '').pathname).toBe('/');
    expect(service('schema-registry').image).toMatch(/^confluentinc\/cp-schema-registry:/);
  });

  it('holds the SNMP credentials the agent is configured with', () => {
    const auth: Record<string, string> = {
      md5: 'MD5',
      sha: 'SHA',
      sha224: 'SHA-224',
      sha256: 'SHA-256',
      sha384: 'SHA-384',
      sha512: 'SHA-512',
    };
    const priv: Record<string, string> = { des: 'DES', aes: 'AES' };
    expect(snmpdDirective('rocommunity').map((a) => a[0])).toEqual([env.AMOSKYS_SNMP_COMMUNITY]);
    expect(snmpdDirective('createUser')).toEqual([
      [
        env.AMOSKYS_SNMP_V3_USER,
        auth[env.AMOSKYS_SNMP_V3_AUTH_PROTOCOL ?? ''],
        env.AMOSKYS_SNMP_V3_AUTH_PASS,
        priv[env.AMOSKYS_SNMP_V3_PRIV_PROTOCOL ?? ''],
        env.AMOSKYS_SNMP_V3_PRIV_PASS,
      ],
    ]);
    // The v3 user is served at authPriv only.
    expect(snmpdDirective('rouser').map((a) => a.slice(0, 2))).toEqual([[env.AMOSKYS_SNMP_V3_USER, 'priv']]);
    // Both health checks ask with the same community.
    expect(healthTest(service('snmpd'))).toContain(`-c ${env.AMOSKYS_SNMP_COMMUNITY} `);
    expect(snmpdDockerfile).toContain(`-c ${env.AMOSKYS_SNMP_COMMUNITY} `);
  });
});

describe('infra/compose/compose.yaml', () => {
  it('follows the Compose Specification: no version key, a project name, known services', () => {
    expect(compose.version).toBeUndefined();
    expect(compose.name).toBe('amoskys');
    expect(Object.keys(compose.services).sort()).toEqual(
      [...infrastructure, 'init', ...componentNames].sort(),
    );
    expect(amoskysServices).toEqual(['init', ...componentNames].sort());
  });

  it('sets only AMOSKYS_* variables of env.ts in environment blocks and references', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      const keys = Object.keys(environmentOf(s)).filter((k) => k.startsWith('AMOSKYS_'));
      expect(
        keys.filter((k) => !isEnvVarName(k)),
        name,
      ).toEqual([]);
    }
    // `$AMOSKYS_X` / `${AMOSKYS_X}` anywhere (interpolation, entrypoint scripts), and mentions in comments.
    for (const [file, text] of [
      ['compose.yaml', composeText],
      ['amoskys.env', readText(path.join(dir, 'amoskys.env'))],
      ['Dockerfile', dockerfile],
      ['snmpd/snmpd.conf', snmpdConf],
      ['snmpd/Dockerfile', snmpdDockerfile],
      ['docs/deployment.md', readText(path.join(repoRoot, 'docs', 'deployment.md'))],
    ] as const) {
      expect(unknownVariableMentions(text), file).toEqual([]);
    }
  });

  it('publishes exactly the ports of the configuration defaults, on loopback', () => {
    const kafka = splitHostPort(defaults.kafka.brokers[0] ?? '');
    const registry = new URL(defaults.registry.url);
    const clickhouse = new URL(defaults.clickhouse.url);
    const expected: Record<(typeof infrastructure)[number], string[]> = {
      kafka: [`${kafka.port}/tcp`],
      'schema-registry': [`${urlPort(registry)}/tcp`],
      clickhouse: [`${urlPort(clickhouse)}/tcp`, `${defaults.stack.clickhouseTcpPort}/tcp`].sort(),
      snmpd: [`${defaults.snmp.port}/udp`],
    };
    const defaultHosts = new Set([kafka.host, registry.hostname, clickhouse.hostname, defaults.snmp.host]);
    for (const name of infrastructure) {
      const ports = publishedPorts(service(name));
      expect(ports.map((p) => `${p.published}/${p.protocol}`).sort(), name).toEqual(expected[name]);
      // Bound where the defaults look (or everywhere, which includes it).
      for (const p of ports) if (p.hostIp !== undefined) expect(defaultHosts, name).toContain(p.hostIp);
    }
    for (const name of ['init', ...componentNames]) expect(service(name).ports, name).toBeUndefined();
  });

  it('maps each published port to a port the service listens on', () => {
    for (const name of infrastructure) {
      for (const p of publishedPorts(service(name))) expect(listeningPorts(name), name).toContain(p.target);
    }
    // The host reaches Kafka through a listener that advertises the default broker address.
    const hostBroker = defaults.kafka.brokers[0] ?? '';
    const published = publishedPorts(service('kafka')).find(
      (p) => p.published === splitHostPort(hostBroker).port,
    );
    const listener = [...kafkaListeners].find(([, l]) => l.port === published?.target)?.[0] ?? '';
    const advertised = kafkaAdvertised.get(listener);
    expect(advertised && `${advertised.host}:${advertised.port}`).toBe(hostBroker);
  });

  it('runs Kafka as one KRaft node: no topic auto-creation, single-replica internal topics', () => {
    expect(service('kafka').image).toMatch(/^apache\/kafka:4\.\d+\.\d+$/);
    expect(kafkaEnv.KAFKA_PROCESS_ROLES?.split(',').sort()).toEqual(['broker', 'controller']);
    expect(kafkaEnv.CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(kafkaEnv.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    for (const key of Object.keys(kafkaEnv).filter((k) => /REPLICATION_FACTOR$|MIN_ISR$/.test(k))) {
      expect(kafkaEnv[key], key).toBe('1');
    }
    expect(kafkaEnv.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    // Every listener has a protocol; the controller listener is never advertised to clients.
    const protocols = new Set(
      (kafkaEnv.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((x) => x.split(':')[0]),
    );
    for (const name of kafkaListeners.keys()) expect(protocols, name).toContain(name);
    for (const name of kafkaControllerNames) {
      expect(kafkaListeners.has(name), name).toBe(true);
      expect(kafkaAdvertised.has(name), name).toBe(false);
    }
    expect(kafkaListeners.has(kafkaEnv.KAFKA_INTER_BROKER_LISTENER_NAME ?? '')).toBe(true);
  });

  it('gives every long-running service a health check, and the health checks a real port', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (name === 'init') continue;
      expect(s.healthcheck?.disable, name).not.toBe(true);
      expect(healthTest(s), name).not.toBe('');
    }
    expect(healthTest(service('kafka'))).toMatch(
      /kafka-broker-api-versions\.sh --bootstrap-server localhost:(\d+)/,
    );
    const kafkaCheckPort = Number(/localhost:(\d+)/.exec(healthTest(service('kafka')))?.[1]);
    expect(listeningPorts('kafka')).toContain(kafkaCheckPort);
    const checkPort = (name: string) => Number(/127\.0\.0\.1:(\d+)/.exec(healthTest(service(name)))?.[1]);
    expect(healthTest(service('schema-registry'))).toContain('/subjects');
    expect(listeningPorts('schema-registry')).toContain(checkPort('schema-registry'));
    expect(healthTest(service('clickhouse'))).toContain('/ping');
    expect(checkPort('clickhouse')).toBe(urlPort(new URL(env.AMOSKYS_CLICKHOUSE_URL ?? '')));
    expect(healthTest(service('snmpd'))).toMatch(/^CMD snmpget /);
    expect(snmpdPorts).toContain(checkPort('snmpd'));
  });

  it('starts the components after healthy infrastructure and a successful init', () => {
    for (const name of ['init', ...componentNames]) {
      const deps = dependsOf(service(name));
      for (const infra of ['kafka', 'schema-registry', 'clickhouse'])
        expect(deps[infra], `${name} -> ${infra}`).toBe('service_healthy');
      if (name !== 'init') expect(deps.init, name).toBe('service_completed_successfully');
    }
    expect(dependsOf(service('producer')).snmpd).toBe('service_healthy');
    expect(dependsOf(service('schema-registry')).kafka).toBe('service_healthy');
  });

  it('stops the producer first and the sink last (compose stops in reverse dependency order)', () => {
    expect(dependsOf(service('producer')).processor).toBeDefined();
    expect(dependsOf(service('processor')).sink).toBeDefined();
    expect(dependsOf(service('sink')).producer).toBeUndefined();
  });

  it('runs each component with the shared env file, its subcommand, a restart policy and /healthz', () => {
    for (const name of componentNames) {
      const s = service(name);
      expect(envFilesOf(s), name).toEqual(['amoskys.env']);
      expect(s.command, name).toEqual(components[name]);
      expect(s.entrypoint, name).toBeUndefined();
      expect(s.restart, name).toMatch(/^(always|unless-stopped|on-failure(:\d+)?)$/);
      expect((s.expose ?? []).map(Number), name).toContain(healthPort);
      expect(healthTest(s), name).toContain(`127.0.0.1:${healthPort}${healthPath}`);
    }
  });

  it('runs the init steps once, in order, stopping at the first failure', () => {
    const init = service('init');
    expect(envFilesOf(init)).toEqual(['amoskys.env']);
    expect(init.restart).toBe('no');
    expect(init.entrypoint).toEqual(['/bin/sh', '-ec']);
    const script = asList(init.command).join('\n');
    const steps = script
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    expect(steps).toEqual(initSteps.map((s) => `amoskys ${s.join(' ')}`));
    // `amoskys` on the PATH of the image runs the CLI.
    expect(dockerfile).toMatch(/\/usr\/local\/bin\/amoskys/);
  });

  it('takes the ClickHouse user, password and database from amoskys.env', () => {
    const ch = service('clickhouse');
    expect(envFilesOf(ch)).toEqual(['amoskys.env']);
    const script = asList(ch.entrypoint).join(' ');
    for (const [image, variable] of [
      ['CLICKHOUSE_USER', 'AMOSKYS_CLICKHOUSE_USERNAME'],
      ['CLICKHOUSE_PASSWORD', 'AMOSKYS_CLICKHOUSE_PASSWORD'],
      ['CLICKHOUSE_DB', 'AMOSKYS_CLICKHOUSE_DATABASE'],
    ] as const) {
      // `$$` is compose's escape for a `$` that the container's shell expands.
      expect(script).toContain(`${image}="$$${variable}"`);
    }
    expect(script).toMatch(/exec \/entrypoint\.sh$/);
    expect(ch.image).toMatch(/^clickhouse\/clickhouse-server:\d+\.\d+/);
  });

  it('pins every image, to the ones the testcontainers helper starts', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image, name).toMatch(/^[^:]+:[A-Za-z0-9._-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
    const helper = readText(path.join(repoRoot, 'test', 'helpers', 'testcontainers.ts'));
    const images = Object.fromEntries(
      [...(/const images = \{([^}]*)\}/.exec(helper)?.[1] ?? '').matchAll(/(\w+): '([^']+)'/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    expect(images).toEqual({
      kafka: service('kafka').image,
      registry: service('schema-registry').image,
      clickhouse: service('clickhouse').image,
    });
  });

  it('builds from files that exist, and mounts files that exist', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build !== undefined) {
        const build = typeof s.build === 'string' ? { context: s.build } : s.build;
        const context = path.resolve(dir, build.context ?? '.');
        expect(existsSync(path.join(context, build.dockerfile ?? 'Dockerfile')), name).toBe(true);
      }
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0] : v.source;
        if (source?.startsWith('.'))
          expect(existsSync(path.resolve(dir, source)), `${name}: ${source}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name}: ${source}`).toContain(source);
      }
      for (const f of envFilesOf(s)) expect(existsSync(path.resolve(dir, f)), `${name}: ${f}`).toBe(true);
    }
    // The AMOSKYS image is built from the repository root.
    const amoskysBuild = service('producer').build;
    expect(typeof amoskysBuild === 'object' && path.resolve(dir, amoskysBuild.context ?? '')).toBe(repoRoot);
  });
});

describe('infra/compose/Dockerfile', () => {
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('builds on the Node.js major version of the project', () => {
    const major = readText(path.join(repoRoot, '.node-version')).trim().split('.')[0];
    expect(instructions).toContain(`ARG NODE_IMAGE=node:${major}-slim`);
  });

  it('installs runtime dependencies only, from the lock file, and copies what the CLI reads', () => {
    expect(instructions).toContainEqual(expect.stringMatching(/^RUN npm ci --omit=dev\b/));
    for (const folder of ['src', 'topics', 'schemas'])
      expect(instructions).toContain(`COPY ${folder} ./${folder}`);
  });

  it('runs the CLI as a numeric non-root user, exposing the health port', () => {
    expect(instructions).toContain(
      'ENTRYPOINT ["node", "--disable-warning=ExperimentalWarning", "src/cli/main.ts"]',
    );
    expect(instructions.filter((i) => i.startsWith('USER ')).at(-1)).toMatch(/^USER [1-9]\d*(:\d+)?$/);
    expect(instructions).toContain(`EXPOSE ${healthPort}`);
  });

  it('keeps the state folder and dependencies of the checkout out of the build context', () => {
    const ignore = readText(path.join(dir, 'Dockerfile.dockerignore')).split('\n');
    for (const entry of ['**/node_modules', '.amoskys', '.git']) expect(ignore).toContain(entry);
  });

  it('uses the state folder compose mounts and amoskys.env names', () => {
    expect(instructions).toContain(`ENV AMOSKYS_STATE_DIR=${env.AMOSKYS_STATE_DIR}`);
    for (const name of componentNames) {
      expect(service(name).volumes, name).toContain(`amoskys-state:${env.AMOSKYS_STATE_DIR}`);
    }
  });
});
