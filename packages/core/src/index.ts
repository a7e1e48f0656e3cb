export type { ChartFiles, ChartFilesOptions } from './chart.js';
export {
  chartFiles,
  chartPackageJson,
  chartPackageName,
  INITIAL_CHART_VERSION,
  valuesSchema,
} from './chart.js';
export type {
  CiliumSettings,
  Cluster,
  Node,
  PlatformDefinition,
} from './generated/platform.js';
export type { RenderedChart, RenderOptions } from './helm.js';
export { MANIFESTS_TEMPLATE, mergeValues, objectIdentity, renderChart } from './helm.js';
export type {
  Issue,
  IssueInput,
  IssueSeverity,
  SourcePosition,
} from './issues.js';
export {
  error,
  formatIssue,
  formatPath,
  HomelabError,
  hasErrors,
  sortIssues,
  ValidationError,
  warning,
} from './issues.js';
export type { LoadResult } from './load.js';
export { LOAD_LIMITS, loadDefinition, normaliseLineEnds, validateDefinition } from './load.js';
export type { Cidr, IpAddress, IpVersion } from './net.js';
export {
  cidrContains,
  cidrContainsCidr,
  cidrSize,
  cidrsOverlap,
  firstUsable,
  isIp,
  isIpv4,
  isIpv6,
  lastUsable,
  nthAddress,
  parseCidr,
  parseIp,
} from './net.js';
export type { ObjectProblem, ObjectValidator, SourcedObject } from './output-validate.js';
export {
  jsonSchemaValidator,
  loadModelValidators,
  MODEL_VALIDATED_KINDS,
  manifestSource,
  validateObjects,
} from './output-validate.js';
export {
  checkHaInvariants,
  checkStorageReplicas,
  DEFAULT_PROFILES,
  DEFAULT_TARGET_REVISION,
  environmentProfiles,
  HOSTNAME_TOPOLOGY_KEY,
  haPlan,
} from './profiles.js';
export { DEFAULT_INTERFACE, resolvePlatform } from './resolve.js';
export type { Locator, PathSegment } from './schema-validate.js';
export {
  createSchemaValidator,
  didYouMean,
  platformSchema,
  schemaIssues,
} from './schema-validate.js';
export { SUPPORTED_TALOS, semanticIssues } from './semantic.js';
export type {
  AntiAffinityMode,
  ApplicationDescriptor,
  ChartDependency,
  ChartReadme,
  ChartSpec,
  ClusterContribution,
  Component,
  ComponentOutput,
  EnvironmentName,
  EnvironmentProfile,
  GeneratedFile,
  HaPlan,
  HaRequest,
  JsonPrimitive,
  JsonValue,
  KubeMetadata,
  KubeObject,
  PodSecurityLevel,
  ResolvedCluster,
  ResolvedNode,
  ResolvedPlatform,
  RolloutMode,
  SecretRequirement,
  TalosRequirements,
  TopologySpreadMode,
  Values,
} from './types.js';
export { ENVIRONMENTS } from './types.js';
export type {
  FileDiff,
  OutputLock,
  RecoveryReport,
  WriteOptions,
  WritePlan,
  WriterFs,
} from './writer.js';
export {
  diffTree,
  fileSystemFault,
  lockOutput,
  planWrite,
  readChartDir,
  readChartVersions,
  recoverOutput,
  writeTree,
} from './writer.js';
export type { HeaderFormat, ToYamlOptions } from './yaml.js';
export {
  compareStrings,
  DEFAULT_GENERATED_BY,
  generatedComment,
  generatedHeader,
  isGeneratedContent,
  orderedKeys,
  parseAllDocuments,
  parseYaml,
  templateMarkerIssues,
  toJson,
  toYaml,
  toYamlDocuments,
} from './yaml.js';
