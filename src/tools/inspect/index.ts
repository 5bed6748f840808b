/**
 * `amoskys inspect`: decode pipeline messages from Kafka topics or ClickHouse tables.
 * The only import point of src/tools/inspect.
 */
export {
  buildTableQuery,
  featureRowFromColumns,
  type InspectTable,
  inspectRows,
  inspectTables,
  readTable,
  type TableQuery,
} from './clickhouse-source.ts';
export {
  checkSignature,
  type DecodeContext,
  deadLetterFromHeaders,
  envelopeFlags,
  featureRowView,
  formatMetricValue,
  inspectEnvelope,
  inspectMessage,
  inspectValue,
  type KindHint,
  previewOf,
  sniffKind,
} from './decode.ts';
export {
  type InspectFilters,
  type InspectResult,
  type InspectTableOptions,
  type InspectTopicOptions,
  inspectTable,
  inspectTopic,
  keysOfValue,
  kindOfRole,
  matchesRecord,
  type TopicRole,
  tableOfRole,
} from './inspect.ts';
export {
  type KafkaRecord,
  type PartitionOffsets,
  type PartitionRange,
  planRead,
  type ReadProgress,
  type ReadTopicOptions,
  type ReadTopicResult,
  readTopic,
  type StopReason,
} from './kafka-source.ts';
export { isoOfNs, type RenderOptions, renderMessage } from './render.ts';
export { textFormatTypes, toTextFormat } from './text-format.ts';
export { type LoadedTrust, readTrustSnapshot } from './trust.ts';
export {
  type DeadLetterView,
  EnvelopeFlag,
  type EnvelopeView,
  type EventCounts,
  type ExtraValueView,
  type FeatureRowView,
  type FeatureValueView,
  type InspectedMessage,
  MessageKind,
  type MessageOrigin,
  type PayloadView,
  SignatureStatus,
  type SignatureView,
  type WireFormatView,
} from './types.ts';
