export {
  type ComponentName,
  type ComponentStatus,
  componentNames,
  components,
  parseStatusLine,
  runScript,
  stackDown,
  stackEnv,
  stackStatus,
  stackUp,
} from './stack.ts';
