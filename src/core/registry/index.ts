export { createRegistry } from './client.ts';
export { protoMessageIndexes } from './message-indexes.ts';
export { type RegistryWaitOptions, whenRegistryAnswers } from './retry.ts';
export {
  type ApplyOptions,
  type ApplyOutcome,
  applySubject,
  applyTopicSchemas,
  deleteSubject,
  getSubjectCompatibility,
  isFailedOutcome,
  lookupSchema,
  type RegistryConfig,
  type SubjectSchema,
  setSubjectCompatibility,
  subjectSchemaIds,
  type TopicApplyOutcome,
} from './subjects.ts';
export {
  type CompatibilityLevel,
  compatibilityLevels,
  readTopicSchemas,
  type TopicSchema,
} from './topic-schemas.ts';
export {
  encodeMessageIndexes,
  frame,
  MAGIC_BYTE,
  UnframeFailure,
  type UnframeResult,
  unframe,
} from './wire-format.ts';
