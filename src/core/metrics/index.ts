export {
  createMetricsRegistry,
  type HealthReport,
  type MetricsServer,
  startMetricsServer,
} from './server.ts';
