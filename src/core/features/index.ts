export { decodeFeatureRow, encodeFeatureRow } from './codec.ts';
export {
  Aggregation,
  type FeatureColumn,
  type FeatureName,
  FeatureType,
  type FeatureValues,
  featureColumns,
  featureColumnsByName,
  type SourceKind,
} from './columns.ts';
export { type FeaturesSchema, featuresSchema } from './schema.ts';
export {
  type ExtraMetric,
  type ExtraMetricValue,
  type FeatureRow,
  type FeatureRowDecodeResult,
  RateState,
} from './types.ts';
