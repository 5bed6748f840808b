export {
  AmoskysError,
  type AmoskysErrorOptions,
  ConfigError,
  type ConfigIssue,
  ErrorCode,
  TimeoutError,
} from './errors.ts';
