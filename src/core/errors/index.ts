export {
  AmoskysError,
  type AmoskysErrorOptions,
  ClickHouseSchemaError,
  ConfigError,
  type ConfigIssue,
  ErrorCode,
  KeyFileError,
  RegistryError,
  SchemaFileError,
  TimeoutError,
} from './errors.ts';
