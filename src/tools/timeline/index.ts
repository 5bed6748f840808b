/**
 * `amoskys timeline`: collection health over time from ClickHouse (hourly distribution, daily
 * summary, inter-arrival statistics, health score, hour-of-day heatmap, gaps), as text, CSV, SVG
 * or JSON. The computation (timeline.ts, render.ts) is pure; query.ts is the only I/O.
 */
export { readTimelineInput, type TimelineInput, type TimelineQuery } from './query.ts';
export {
  cellColour,
  csvField,
  formatDuration,
  percent,
  renderTimelineText,
  shade,
  shadingStrip,
  timelineCsv,
  timelineSvg,
  xmlEscape,
} from './render.ts';
export {
  buildTimeline,
  countSlots,
  type DayTally,
  type DeviceResult,
  deviceTimeline,
  interArrivalStats,
  utcDay,
} from './timeline.ts';
export {
  type DailyRow,
  type DeviceHour,
  type DevicePolls,
  type DeviceTimeline,
  type Gap,
  type HeatmapRow,
  type HourCount,
  type HourlyRow,
  type InterArrivalStats,
  type PollPoint,
  STRIP_BINS,
  type TimelineOptions,
  type TimelineReport,
} from './types.ts';
export {
  ALL_TIME,
  describeWindow,
  isoSeconds,
  MAX_DATETIME_S,
  parseTime,
  resolveWindow,
  type TimeWindow,
  type WindowOptions,
} from './window.ts';
