export {
  type DevicePoll,
  idempotencyKey,
  type Label,
  type Metric,
  type MetricValue,
  PollState,
  type PollStatus,
} from './types.ts';
