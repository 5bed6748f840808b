/**
 * Metric completeness per device (ML readiness): for each of the 29 named features of the default
 * profile (not the 9 `*_per_second` rates, which are absent by design on a first sample, after a
 * restart or a gap), the share of the device's answered polls (`ok` or `partial`) where the column
 * is not NULL. A device's completeness is the mean share over the features; features never present
 * are listed as missing, features present in some polls only as sparse. Unanswered polls
 * (unreachable, auth_failed, error) are collection health (`amoskys timeline`), not completeness.
 */
import { Aggregation, featureColumns } from '../../core/features/index.ts';
import type { DeviceCompleteness, FeatureCounts } from './types.ts';

/** The named features completeness is measured on, in field order. */
export const COMPLETENESS_FEATURES: readonly string[] = featureColumns
  .filter((c) => c.aggregation !== Aggregation.Rate && c.aggregation !== Aggregation.RateSum)
  .map((c) => c.name);

/** Completeness of each device from ClickHouse's counts. */
export function analyzeCompleteness(
  counts: readonly FeatureCounts[],
  features: readonly string[] = COMPLETENESS_FEATURES,
): DeviceCompleteness[] {
  return [...counts]
    .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
    .map((c) => {
      if (c.answered === 0) {
        return {
          deviceId: c.deviceId,
          polls: c.polls,
          answered: 0,
          completeness: null,
          missing: [],
          sparse: [],
        };
      }
      const shares = features.map((name) => ({ name, share: (c.present[name] ?? 0) / c.answered }));
      return {
        deviceId: c.deviceId,
        polls: c.polls,
        answered: c.answered,
        completeness: shares.reduce((s, f) => s + f.share, 0) / Math.max(1, shares.length),
        missing: shares.filter((f) => f.share === 0).map((f) => f.name),
        sparse: shares.filter((f) => f.share > 0 && f.share < 1),
      };
    });
}
