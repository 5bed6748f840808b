/**
 * What infra/compose and infra/k8s are checked against: the configuration's variable table
 * (src/core/config/env.ts), its validation, and the few facts about the components that the
 * configuration does not (yet) hold.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  defaults,
  type EnvVarName,
  envVars,
  type LoadedConfig,
  loadConfig,
} from '../../../src/core/config/index.ts';

export const envVarNames = Object.keys(envVars) as EnvVarName[];

export function isEnvVarName(name: string): name is EnvVarName {
  return Object.hasOwn(envVars, name);
}

/**
 * Settings of the native stack (`stack.*`: infra/local's ports and timeouts). They mean nothing to a
 * deployed component, so compose and Kubernetes never set them.
 */
export const stackOnly: ReadonlySet<string> = new Set<string>(
  envVarNames.filter((n) => envVars[n].path.startsWith('stack.')),
);

/**
 * Variables a deployment may leave unset: the native stack's, and authentication and a private CA
 * that a deployment turns on only when its services require them.
 */
export const optionalInDeployments: ReadonlySet<string> = new Set<string>([
  ...stackOnly,
  'AMOSKYS_KAFKA_CA_FILE',
  'AMOSKYS_KAFKA_SASL_MECHANISM',
  'AMOSKYS_KAFKA_SASL_USERNAME',
  'AMOSKYS_KAFKA_SASL_PASSWORD',
  'AMOSKYS_REGISTRY_USERNAME',
  'AMOSKYS_REGISTRY_PASSWORD',
]);

/**
 * Every other variable is set explicitly by each deployment: a default that points at loopback is
 * wrong inside a container. A variable added to env.ts lands here until a deployment sets it.
 */
export const requiredInDeployments: readonly EnvVarName[] = envVarNames.filter(
  (n) => !optionalInDeployments.has(n),
);

/** The long-running components and the subcommand each one runs. */
export const components = {
  producer: ['producer', 'run'],
  processor: ['processor', 'run'],
  sink: ['sink', 'run'],
} as const satisfies Record<string, readonly string[]>;

/** The setup steps, in order: topics before schemas (subjects are named after topics), tables last. */
export const initSteps: readonly (readonly string[])[] = [
  ['topics', 'apply'],
  ['schemas', 'apply'],
  ['clickhouse', 'migrate'],
];

/** Port of every component's /metrics and /healthz: the configuration default. */
export const healthPort = defaults.metrics.port;
export const healthPath = '/healthz';

/** Names that are not settings but may appear in docs (see src/core/config/load.ts). */
const nonSettingNames = new Set(['AMOSKYS_CONFIG']);

/**
 * Every `AMOSKYS_*` token in a text that is neither a variable of env.ts nor a prefix of one written
 * as `AMOSKYS_X_*`: typos in comments and docs send readers to settings that do not exist.
 */
export function unknownVariableMentions(text: string): string[] {
  const unknown = new Set<string>();
  for (const m of text.matchAll(/\bAMOSKYS_[A-Z0-9_]*[A-Z0-9](_\*)?/g)) {
    const token = m[0];
    if (token.endsWith('_*')) {
      const prefix = token.slice(0, -1);
      if (!envVarNames.some((n) => n.startsWith(prefix))) unknown.add(token);
    } else if (!isEnvVarName(token) && !nonSettingNames.has(token)) {
      unknown.add(token);
    }
  }
  return [...unknown];
}

/**
 * Runs the project's own configuration loading on a set of variables, as a component would at
 * start: no configuration file, an empty working folder.
 * @throws ConfigError listing every invalid setting.
 */
export function loadFromEnv(env: Record<string, string>): LoadedConfig {
  const cwd = mkdtempSync(path.join(tmpdir(), 'amoskys-infra-'));
  try {
    return loadConfig({ env, file: undefined, cwd });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** `host:port` split at the last colon. */
export function splitHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  if (i <= 0) throw new Error(`expected host:port, got ${JSON.stringify(value)}`);
  return { host: value.slice(0, i), port: Number(value.slice(i + 1)) };
}

/** Port of an http(s) URL, with the scheme's default when the URL names none. */
export function urlPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Reads a text file of the repository. */
export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
