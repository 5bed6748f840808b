export {
  AmoskysError,
  type AmoskysErrorOptions,
  ConfigError,
  type ConfigIssue,
  ErrorCode,
  KeyFileError,
  RegistryError,
  SchemaFileError,
  TimeoutError,
} from './errors.ts';
