export type { ChartFiles, ChartFilesOptions } from './chart.js';
export { chartFiles, chartPackageJson, chartPackageName, INITIAL_CHART_VERSION } from './chart.js';
export type {
  ClusterRun,
  ComponentRun,
  ComponentsResult,
  Registry,
  RunOptions,
  SettingsValidator,
} from './components.js';
export {
  compiledSettingsValidator,
  componentSettings,
  runComponents,
  settingsPath,
} from './components.js';
export type {
  AnyComponent,
  ApplicationDescriptor,
  BootstrapSecret,
  BootstrapStep,
  Capability,
  CapabilityFacts,
  ClusterContribution,
  Component,
  ComponentCluster,
  ComponentOutput,
  ConsumerManifests,
  CrdBundle,
  Declaration,
  DeclareInput,
  FlowDeclaration,
  FlowPeer,
  FlowPort,
  GroupKind,
  JsonSchema,
  MonitorDeclaration,
  OidcClientRequest,
  PeerContribution,
  PodLabels,
  ProvidedFacts,
  RenderCluster,
  RenderInput,
  RouteAuth,
  RouteRequest,
  SecretKeyRef,
  SecretRequirement,
  SettingsSpec,
  TalosNeeds,
  VolumeRequest,
} from './contract.js';
export { CAPABILITIES } from './contract.js';
export { composeDefinitionSchema, settingsSchema } from './definition-schema.js';
export type { Cluster, Node, PlatformDefinition } from './generated/platform.js';
export type { DependencyLayers, DependencyNode, DependencyProblem } from './graph.js';
export { dependencyLayers, formatCycle } from './graph.js';
export type { RenderedChart, RenderOptions } from './helm.js';
export { mergeValues, objectIdentity, renderChart } from './helm.js';
export type { Issue, IssueInput, IssueSeverity, PathSegment, SourcePosition } from './issues.js';
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
export type { DefinitionValidator, LoadResult } from './load.js';
export {
  definitionValidator,
  definitionValidatorSource,
  LOAD_LIMITS,
  loadDefinition,
  validateDefinition,
} from './load.js';
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
export type {
  KindSchema,
  ObjectProblem,
  ObjectValidator,
  SourcedObject,
} from './output-validate.js';
export {
  jsonSchemaValidator,
  kindValidatorSource,
  kindValidators,
  loadModelValidators,
  validateObjects,
} from './output-validate.js';
export { positionIssues } from './positions.js';
export {
  checkHaInvariants,
  environmentProfiles,
  HOSTNAME_TOPOLOGY_KEY,
  haPlan,
} from './profiles.js';
export { DEFAULT_INTERFACE, resolvePlatform } from './resolve.js';
export type { Locator, StandaloneSource } from './schema-validate.js';
export {
  createSchemaValidator,
  didYouMean,
  schemaIssues,
  standaloneValidators,
} from './schema-validate.js';
export { SUPPORTED_TALOS } from './semantic.js';
export type {
  DeployedApplication,
  DeployedCluster,
  DeployedObject,
  SystemCheck,
  SystemInput,
  SystemReport,
} from './system.js';
export { CORE_CHECKS, groupKindOf, runSystemChecks, systemReports } from './system.js';
export type { TarEntry, TarFile } from './tar.js';
export { readChartArchiveFile, tar, untar } from './tar.js';
export type {
  ChartDependency,
  ChartReadme,
  ChartSpec,
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
  Values,
} from './types.js';
export { ENVIRONMENTS } from './types.js';
export type { FilePin, HelmChartPin, UpstreamPin } from './upstream.js';
export { chartArchivePath, vendorPath } from './upstream.js';
export type { FileDiff, WriteOptions, WritePlan, WriterFs } from './writer.js';
export { diffTree, planWrite, readChartDir, readChartVersions, writeTree } from './writer.js';
export type { HeaderFormat, ToYamlOptions } from './yaml.js';
export {
  compareStrings,
  DEFAULT_GENERATED_BY,
  generatedHeader,
  isGeneratedContent,
  parseAllDocuments,
  parseYaml,
  shellQuote,
  toJson,
  toYaml,
  toYamlDocuments,
} from './yaml.js';
