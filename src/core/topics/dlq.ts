/**
 * The dead-letter topic's contract: every rejected message keeps its original bytes as the value
 * and says why and where it came from in these headers (values are UTF-8 strings). The processor
 * writes them; the ClickHouse sink, `amoskys inspect` and other teams' consumers read them.
 */
/** Header names on dead-lettered messages. */
export const DlqHeader = {
  Reason: 'amoskys.reason',
  Message: 'amoskys.reason.message',
  SourceTopic: 'amoskys.source.topic',
  SourcePartition: 'amoskys.source.partition',
  SourceOffset: 'amoskys.source.offset',
  SourceKey: 'amoskys.source.key',
  RejectedAtMs: 'amoskys.rejected.at.ms',
} as const;
