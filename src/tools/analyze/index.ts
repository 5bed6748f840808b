/**
 * `amoskys analyze`: reconciles the raw topic against ClickHouse (produced = stored + rejected +
 * duplicates), compares bytes collected with bytes stored per envelope, measures metric
 * completeness per device and lists the metric names stored. reconcile.ts, bytes.ts,
 * completeness.ts and report.ts are pure; topic.ts (Kafka) and query.ts (ClickHouse) are the I/O;
 * analyze.ts puts them together.
 */
export { type RunAnalyzeOptions, runAnalyze, TOPIC_START_MARGIN_S } from './analyze.ts';
export { analyzeBytes, DEFAULT_MIN_STORED_RATIO, envelopeAlarms } from './bytes.ts';
export { analyzeCompleteness, COMPLETENESS_FEATURES } from './completeness.ts';
export {
  readDeadLetters,
  readEnvelopeSizes,
  readFeatureCounts,
  readMetricNames,
  type StoredScope,
} from './query.ts';
export { type ParsedKey, parseIdempotencyKey, Reconciler, reconcile, type StoredState } from './reconcile.ts';
export { type AnalyzeParts, renderAnalyzeText, withVerdict } from './report.ts';
export {
  idempotencyKeyOf,
  type PartitionRange,
  type ReadTopicOptions,
  readRawTopic,
  topicRanges,
} from './topic.ts';
export {
  type AnalyzeReport,
  type BytesAlarm,
  BytesAlarmKind,
  type BytesReport,
  type DeadLetter,
  type DeviceBytes,
  type DeviceCompleteness,
  type DeviceReconcile,
  type EnvelopeSizes,
  type FeatureCounts,
  type LostMessage,
  MessageFate,
  type MetricNameSeen,
  type ReconcileCounts,
  type Reconciliation,
  type TopicMessage,
} from './types.ts';
