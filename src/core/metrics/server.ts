/**
 * Prometheus metrics and the health endpoint of a long-running component, on one small HTTP
 * server: `GET /metrics` (text exposition format) and `GET /healthz` (200 when healthy, 503 with
 * the reasons otherwise). prom-client holds the metrics; each component registers its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** What `/healthz` reports. */
export interface HealthReport {
  healthy: boolean;
  /** Component-specific facts, e.g. `{ kafka: 'connected', lastPollAgeMs: 1200 }`. */
  details: Record<string, unknown>;
}

/** A registry with Node's process metrics (memory, event loop lag, GC) under `amoskys_`. */
export function createMetricsRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, prefix: 'amoskys_' });
  return registry;
}

/** A running metrics server; `close()` is safe to call twice. */
export interface MetricsServer {
  /** The port it listens on (useful when configured with 0). */
  port: number;
  close(): Promise<void>;
}

/** Starts the server on `host:port` (port 0: any free port). */
export async function startMetricsServer(
  registry: Registry,
  options: { host: string; port: number; health: () => HealthReport },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.startsWith('/metrics')) {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    if (req.method === 'GET' && url.startsWith('/healthz')) {
      const report = options.health();
      res.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(report));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
