/**
 * Which real stack the integration and e2e tests run against.
 *   external        endpoints given in the environment or a config file: use them as they are
 *   testcontainers  a Docker engine answers: start official images with testcontainers
 *   local           otherwise: the native stack of infra/local (started, or reused if running)
 * `AMOSKYS_TEST_STACK=external|testcontainers|local` forces one; the default is `auto`.
 */
import http from 'node:http';

export type StackProvider = 'external' | 'testcontainers' | 'local';

const endpointVars = [
  'AMOSKYS_CONFIG',
  'AMOSKYS_KAFKA_BROKERS',
  'AMOSKYS_REGISTRY_URL',
  'AMOSKYS_CLICKHOUSE_URL',
];

/** Picks the provider; pure, so the rules are unit-tested. */
export function chooseProvider(
  env: NodeJS.ProcessEnv,
  dockerReachable: boolean,
): { provider: StackProvider; reason: string } {
  const forced = env.AMOSKYS_TEST_STACK ?? 'auto';
  if (forced === 'external' || forced === 'testcontainers' || forced === 'local') {
    return { provider: forced, reason: `AMOSKYS_TEST_STACK=${forced}` };
  }
  if (forced !== 'auto') {
    throw new Error(`AMOSKYS_TEST_STACK must be auto, external, testcontainers or local; got "${forced}"`);
  }
  const given = endpointVars.filter((name) => (env[name] ?? '') !== '');
  if (given.length > 0) return { provider: 'external', reason: `${given.join(', ')} set` };
  if (dockerReachable) return { provider: 'testcontainers', reason: 'a Docker engine answers' };
  return { provider: 'local', reason: 'no endpoints configured and no Docker engine' };
}

/** True when a Docker engine answers `GET /_ping` on DOCKER_HOST (unix socket) or the default socket. */
export function dockerEngineReachable(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 1000,
): Promise<boolean> {
  const host = env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const options: http.RequestOptions = host.startsWith('unix://')
    ? { socketPath: host.slice('unix://'.length), path: '/_ping' }
    : (() => {
        const u = new URL(host.replace(/^tcp:/, 'http:'));
        return { host: u.hostname, port: u.port, path: '/_ping' };
      })();
  return new Promise((resolve) => {
    const req = http.get({ ...options, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
