export type { CliIo } from './cli.js';
export { run } from './cli.js';
export type { GenerateInput, GenerateOptions, GenerateResult } from './pipeline.js';
export { generate } from './pipeline.js';
export { REGISTRY } from './registry.js';
export { runtime } from './runtime.js';
export type { Runtime } from './runtime-types.js';
