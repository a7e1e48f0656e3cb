export type { CommandLine, CommandName, CommandOptions } from './args.js';
export { COMMANDS, parseCommandLine, usage } from './args.js';
export type { CliIo, TreeDifferences } from './cli.js';
export { classifyChanges, run, workspaceRoot } from './cli.js';
export type {
  Assembler,
  Engine,
  FilesResult,
  GenerateInput,
  GenerateResult,
  ManifestToValidate,
} from './internal/assemble.js';
export { chartManifests, DEFAULT_CHART_VERSION, generateWith } from './internal/assemble.js';
export { assemblers, components, engine, GENERATED_BY, generate } from './pipeline.js';
export { runtime } from './runtime.js';
export type { FileChange, Runtime, WriteSummary } from './runtime-types.js';
export type { SecretFinding, SecretScanOptions, SecretScanTarget } from './secrets.js';
export {
  findSecrets,
  isLiteralSecretValue,
  isSensitiveKey,
  maskIssues,
  maskSecret,
  scanGeneratedFiles,
  scanSecrets,
} from './secrets.js';
