export { type BatchSpan, monthPartitioner, type Plannable, planBatches } from './batch.ts';
export {
  dlqColumns,
  dlqRecord,
  extraJson,
  featureRecord,
  featureTableColumns,
  type KeyResolver,
  metricColumns,
  rawColumns,
  rawRecord,
  snapshotResolver,
  writeDlq,
  writeFeature,
  writeRaw,
} from './rows.ts';
export { type SinkOptions, type SinkStage, startSink } from './sink.ts';
export { TsvWriter } from './tsv.ts';
export { type SinkStats, SinkTable, SkipReason, type SourceCoordinates } from './types.ts';
export { createWriter, type InsertBatch, type Writer } from './writer.ts';
