/**
 * SNMP collection stage: inventory -> scheduler -> collector -> DevicePoll, plus a simulated
 * device fleet. The only import point of src/producers/snmp.
 */
export { msToNs, systemClock } from './clock.ts';
export {
  type CollectorConfig,
  classifyError,
  createCollector,
  type Failure,
  FailureKind,
  fitTimeouts,
  pollDevice,
} from './collector.ts';
export {
  buildInventory,
  type DeviceInput,
  defaultDeadlineMs,
  deviceDefaults,
  deviceIdPattern,
  type Inventory,
  type InventoryInput,
  type InventoryOptions,
  inventorySchema,
  loadInventory,
} from './inventory.ts';
export { type BuiltMetrics, buildMetrics, type ColumnRow, type Readings } from './metrics.ts';
export {
  type CollectorOptions,
  collectorDefaults,
  collectorOptionsSchema,
  type SchedulerOptions,
  schedulerDefaults,
  schedulerOptionsSchema,
} from './options.ts';
export {
  type ProducerStage,
  type ProducerStageOptions,
  type ProducerStats,
  rawSchemaId,
  startProducer,
} from './producer.ts';
export { builtinProfiles, defineProfile, type PollPlan, planPoll, profileSchema } from './profile.ts';
export { defaultProfile } from './profiles/default.ts';
export {
  createScheduler,
  jitterOffsetMs,
  type MissedSlot,
  type Scheduler,
  type SchedulerConfig,
} from './scheduler.ts';
export {
  type CounterSpec,
  counterAt,
  firstWrapMs,
  type GaugeSpec,
  gaugeAt,
  loadAt,
  prng,
  type SimulatedDevice,
  type SimulatedDeviceOptions,
  simulatedDevice,
  uptimeAt,
} from './simulator/model.ts';
export {
  type FleetInventoryOptions,
  type SimulatedAgent,
  type Simulator,
  type SimulatorOptions,
  type SimulatorV3User,
  startSimulator,
} from './simulator/simulator.ts';
export {
  AuthProtocol,
  type Clock,
  type ColumnMetricDefinition,
  type Credentials,
  type Device,
  type LabelDefinition,
  type MetricDefinition,
  MetricType,
  MissedReason,
  type PollFunction,
  type PollOptions,
  type PollTiming,
  PrivProtocol,
  type Profile,
  type ScalarMetricDefinition,
  type SchedulerStats,
  type SlotInfo,
  type TableDefinition,
  type V2cCredentials,
  type V3Credentials,
} from './types.ts';
export {
  counter64FromBytes,
  counter64ToBytes,
  type MappedValue,
  mapVarbind,
  octetsToString,
  type RawVarbind,
} from './varbind.ts';
export { compareArcs, getScalars, type SnmpRequester, walkColumns } from './walk.ts';
