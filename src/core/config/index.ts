export { defaults, repoRoot } from './defaults.ts';
export { type EnvKind, type EnvVar, type EnvVarName, envVars, parseEnvValue, secretPaths } from './env.ts';
export {
  type DeepPartial,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  redactConfig,
} from './load.ts';
export { trustStoreFile } from './paths.ts';
export { type Config, configSchema } from './schema.ts';
