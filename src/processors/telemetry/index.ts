/**
 * Telemetry processor stage: raw envelopes -> verified, deduplicated feature rows + dead letters.
 * The only import point of src/processors/telemetry.
 */
export { createProcessorLogic, type ProcessorLogicOptions } from './logic.ts';
export {
  type Accepted,
  type ProcessorLogic,
  type ProcessorStage,
  type ProcessorStageOptions,
  type ProcessorStats,
  type Rejected,
  startProcessor,
} from './processor.ts';
export { DlqHeader, RejectReason } from './types.ts';
export { dlqHeaders, type ValidateContext, type ValidateResult, validateMessage } from './validate.ts';
