export {
  AmoskysError,
  type AmoskysErrorOptions,
  ClickHouseSchemaError,
  ConfigError,
  type ConfigIssue,
  ErrorCode,
  InputError,
  KafkaConnectionError,
  KeyFileError,
  RegistryError,
  SchemaFileError,
  TimeoutError,
} from './errors.ts';
