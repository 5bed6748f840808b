/**
 * The local stack: Kafka, Schema Registry, ClickHouse and snmpd run natively on loopback by the
 * scripts in infra/local (one per component). This module only decides which script runs with
 * which environment, derived from the configuration, and reads their status lines.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../config/index.ts';
import { repoRoot } from '../config/index.ts';
import { AmoskysError, ErrorCode } from '../errors/index.ts';

/** Components in start order; `dependsOn` names what must answer before a component starts. */
export const components = [
  { name: 'kafka', dependsOn: [] },
  { name: 'registry', dependsOn: [] },
  { name: 'clickhouse', dependsOn: [] },
  { name: 'snmpd', dependsOn: [] },
] as const satisfies readonly { name: string; dependsOn: readonly string[] }[];

export type ComponentName = (typeof components)[number]['name'];
export const componentNames: readonly ComponentName[] = components.map((c) => c.name);

/** One line of `<component>.sh status`. */
export interface ComponentStatus {
  name: string;
  endpoint: string;
  version: string;
  healthy: boolean;
  detail: string;
}

const loopback = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function portOf(what: string, hostPort: string): { host: string; port: string } {
  const match = /^(.*):(\d+)$/.exec(hostPort);
  if (match === null) throw stackError(`${what} has no port: ${hostPort}`);
  return { host: match[1] as string, port: match[2] as string };
}

function urlPort(url: string): { host: string; port: string } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port || (u.protocol === 'https:' ? '443' : '80') };
}

function stackError(message: string, cause?: unknown): AmoskysError {
  return new AmoskysError(ErrorCode.StackFailed, message, { retriable: false, cause });
}

/**
 * Environment for the infra/local scripts. The local stack only ever listens on loopback, so a
 * configuration that points elsewhere is an error here rather than a surprise later.
 */
export function stackEnv(config: Config): Record<string, string> {
  const kafka = portOf('kafka.brokers[0]', config.kafka.brokers[0] as string);
  const registry = urlPort(config.registry.url);
  const clickhouse = urlPort(config.clickhouse.url);
  const external = [
    ['kafka.brokers', kafka.host],
    ['registry.url', registry.host],
    ['clickhouse.url', clickhouse.host],
    ['snmp.host', config.snmp.host],
  ].filter(([, host]) => !loopback.has(host as string));
  if (external.length > 0) {
    const list = external.map(([p, h]) => `${p} -> ${h}`).join(', ');
    throw stackError(
      `the local stack runs on loopback only, but the configuration points elsewhere: ${list}`,
    );
  }
  return {
    AMOSKYS_STATE_DIR: config.stateDir,
    AMOSKYS_KAFKA_PORT: kafka.port,
    AMOSKYS_KAFKA_CONTROLLER_PORT: String(config.stack.kafkaControllerPort),
    AMOSKYS_REGISTRY_PORT: registry.port,
    AMOSKYS_REGISTRY_MANAGEMENT_PORT: String(config.stack.registryManagementPort),
    AMOSKYS_CLICKHOUSE_HTTP_PORT: clickhouse.port,
    AMOSKYS_CLICKHOUSE_TCP_PORT: String(config.stack.clickhouseTcpPort),
    AMOSKYS_SNMP_PORT: String(config.snmp.port),
    AMOSKYS_SNMP_COMMUNITY: config.snmp.community,
    AMOSKYS_SNMP_V3_USER: config.snmp.v3.user,
    AMOSKYS_SNMP_V3_AUTH_PASS: config.snmp.v3.authPass,
    AMOSKYS_SNMP_V3_PRIV_PASS: config.snmp.v3.privPass,
    AMOSKYS_STACK_START_TIMEOUT_SECONDS: String(config.stack.startTimeoutSeconds),
  };
}

/** Options of {@link runScript}. */
interface RunOptions {
  /** Where the script's stdout goes: captured (returned) or inherited (shown to the user). */
  stdout: 'capture' | 'inherit';
}

/** Runs `infra/local/<component>.sh <action> [args]`; resolves with exit code and captured stdout. */
export function runScript(
  config: Config,
  component: ComponentName,
  action: string,
  args: readonly string[] = [],
  options: RunOptions = { stdout: 'inherit' },
): Promise<{ code: number; stdout: string }> {
  const script = path.join(repoRoot, 'infra', 'local', `${component}.sh`);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, action, ...args], {
      env: { ...process.env, ...stackEnv(config) },
      stdio: ['ignore', options.stdout === 'capture' ? 'pipe' : 'inherit', 'inherit'],
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', (err) => reject(stackError(`cannot run ${script}`, err)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

/** Parses the tab-separated status line a component script prints. */
export function parseStatusLine(line: string, fallbackName: string): ComponentStatus {
  const [name, endpoint, version, health, ...detail] = line.trim().split('\t');
  return {
    name: name || fallbackName,
    endpoint: endpoint ?? '-',
    version: version ?? '-',
    healthy: health === 'up',
    detail: detail.join(' '),
  };
}

/** Health of each component, checked concurrently. */
export async function stackStatus(
  config: Config,
  names: readonly ComponentName[] = componentNames,
): Promise<ComponentStatus[]> {
  return Promise.all(
    names.map(async (name) => {
      const { code, stdout } = await runScript(config, name, 'status', [], { stdout: 'capture' });
      const status = parseStatusLine(stdout.split('\n').find((l) => l.includes('\t')) ?? '', name);
      return { ...status, healthy: status.healthy && code === 0 };
    }),
  );
}

/**
 * Starts the components (all of them by default) and waits until each answers. Components
 * without dependencies start concurrently: on two cores the JVMs overlap their I/O waits.
 */
export async function stackUp(
  config: Config,
  names: readonly ComponentName[] = componentNames,
): Promise<void> {
  const started = new Map<string, Promise<void>>();
  const start = (name: ComponentName): Promise<void> => {
    const existing = started.get(name);
    if (existing !== undefined) return existing;
    const spec = components.find((c) => c.name === name);
    const deps = (spec?.dependsOn ?? []) as readonly ComponentName[];
    const promise = Promise.all(deps.map(start)).then(async () => {
      const { code } = await runScript(config, name, 'up');
      if (code !== 0) throw stackError(`${name} did not start (see \`amoskys stack logs ${name}\`)`);
    });
    started.set(name, promise);
    return promise;
  };
  const results = await Promise.allSettled(names.map(start));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    throw stackError(failed.map((f) => (f.reason as Error).message).join('; '));
  }
}

/** Stops the processes that `up` started (by recorded pid), dependents first. */
export async function stackDown(
  config: Config,
  names: readonly ComponentName[] = componentNames,
): Promise<void> {
  for (const name of [...names].reverse()) {
    await runScript(config, name, 'down');
  }
}
