export type { OversizedApply } from './apply-size.js';
export {
  ANNOTATIONS_LIMIT_BYTES,
  appliedWithoutLastApplied,
  clientSideApplyAnnotationBytes,
  goJsonBytes,
  LAST_APPLIED_ANNOTATION,
  oversizedClientSideApplies,
  TRACKING_ANNOTATION,
  trackingId,
} from './apply-size.js';
export type { AwkEquality, AwkProgram } from './awk.js';
export { awkNumericEqualities, awkPrograms } from './awk.js';
export type { ChartFiles, ChartFilesOptions } from './chart.js';
export {
  chartFilePaths,
  chartFiles,
  chartPackageJson,
  chartPackageName,
  INITIAL_CHART_VERSION,
} from './chart.js';
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
  AlertRuleDeclaration,
  AnyComponent,
  ApplicationDescriptor,
  BackupPodFlow,
  BackupRetention,
  BootstrapSecret,
  BootstrapStep,
  Capability,
  CapabilityFacts,
  ChartUninstall,
  ClusterContribution,
  Component,
  ComponentCluster,
  ComponentOutput,
  ConsumerManifests,
  CrdBundle,
  DashboardDeclaration,
  Declaration,
  DeclareInput,
  FlowDeclaration,
  FlowPeer,
  FlowPort,
  GroupKind,
  JsonSchema,
  ManifestOrigin,
  ManifestOrigins,
  MonitorDeclaration,
  MonitorTarget,
  NodeLifecycle,
  NodeRebootWait,
  OidcClientRequest,
  OutageProcedure,
  PeerContribution,
  PerEnvironment,
  PodLabels,
  ProvidedFacts,
  RenderCluster,
  RenderInput,
  ResourceHealthCheck,
  RotationProcedure,
  RotationStep,
  RouteAuth,
  RouteRequest,
  SecretKeyRef,
  SecretProducer,
  SecretReader,
  SecretRequirement,
  ServiceDeclaration,
  ServicePortDeclaration,
  SettingsSpec,
  ShellRead,
  TalosNeeds,
  TalosNodeNeeds,
  TalosUserVolume,
  VolumeBackupPolicy,
  VolumeRequest,
  WorkloadProject,
} from './contract.js';
export {
  applicationName,
  CAPABILITIES,
  namespacePodSecurity,
  PLATFORM_CHART,
  rootApplicationName,
} from './contract.js';
export { atOrAboveFloor, crossesFloorDownwards } from './crd-bundles.js';
export type { DefaultedField, StructuralSchema } from './crd-defaults.js';
export { applyCrdDefaults, crdSchemas, defaultsInsideLists } from './crd-defaults.js';
export type { CronProblem, CronSchedule } from './cron.js';
export { cronLongestGap, cronOverlap, parseCron } from './cron.js';
export {
  type CronJobSelector,
  lastRunFailedExpr,
  lastSuccessTooOldExpr,
} from './cronjob-alerts.js';
export { composeDefinitionSchema, settingsSchema } from './definition-schema.js';
export { deploymentSources, sourceHost, sourcePatternHost } from './deployment-sources.js';
export type { DisruptionBudget } from './disruption-budgets.js';
export {
  blockingDisruptionBudgets,
  disruptionBudgets,
  labelSelectorMatches,
} from './disruption-budgets.js';
export { emailAddressProblem } from './email.js';
export {
  emittedDocuments,
  emittedValues,
  fileDocuments,
  fileValues,
  yamlDocumentsFile,
  yamlValuesFile,
} from './emitted.js';
export { exposuresOf, servicesNotExposed } from './exposure.js';
export type { WordedErrno } from './file-reasons.js';
export { errnoCode, errnoReason, fileKind } from './file-reasons.js';
export {
  backupFlows,
  clusterRoutedHost,
  clusterServiceName,
  DEFAULT_CLUSTER_DOMAIN,
  flowPeerPort,
  flowPeerPorts,
  hostFlowPeer,
  isKubeApiServerHost,
  KUBE_APISERVER_PORT,
  KUBE_APISERVER_PORTS,
  routedHostPeer,
  urlFlowPeer,
} from './flow-peers.js';
export type {
  Cluster,
  DataDisk,
  DiskSelector,
  Node,
  PlatformDefinition,
} from './generated/platform.js';
export type { DependencyLayers, DependencyNode, DependencyProblem } from './graph.js';
export { dependencyLayers, formatCycle } from './graph.js';
export {
  dropLastApplied,
  ensureNamespace,
  GITOPS_FIELD_MANAGER,
  HAND_OVER_APPLY,
  handOverApply,
  SECRET_APPLY,
} from './hand-over.js';
export type { RenderedChart, RenderOptions } from './helm.js';
export { mergeValues, mergeValuesShared, objectIdentity, renderChart } from './helm.js';
export { imageRepository, resolvedImage } from './images.js';
export type { ImmutableChange } from './immutable-fields.js';
export {
  fieldOrigin,
  hasImmutableFields,
  ignoredField,
  immutableChanges,
  quantityBytes,
} from './immutable-fields.js';
export type {
  Issue,
  IssueInput,
  IssueSeverity,
  PathSegment,
  SourcePosition,
  ValuePosition,
} from './issues.js';
export {
  clusterList,
  error,
  formatIssue,
  formatPath,
  HomelabError,
  hasErrors,
  mergeClusterIssues,
  sortIssues,
  ValidationError,
  warning,
  wordList,
} from './issues.js';
export { isJson, isJsonTable, type Json, list, record } from './json-access.js';
export {
  jsonEqual,
  manifestLayer,
  ownValues,
  sharedValues,
  shareEnvironmentValues,
} from './layers.js';
export { loadBalancerPoolBlocks, type PoolBlock } from './lb-ipam.js';
export type { DefinitionValidator, LoadResult } from './load.js';
export {
  definitionValidator,
  definitionValidatorSource,
  LOAD_LIMITS,
  loadDefinition,
  normaliseLineEnds,
  validateDefinition,
  withTextRule,
} from './load.js';
export type { Cidr, DnsNameOptions, IpAddress, IpVersion } from './net.js';
export {
  cidrContains,
  cidrContainsCidr,
  cidrSize,
  cidrsOverlap,
  DNS_NAME_MAX_LENGTH,
  firstUsable,
  isDnsLabel,
  isDnsName,
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
  KIND_SCHEMA_PARTS,
  kindValidatorSource,
  kindValidators,
  loadModelValidators,
  modelClassValidator,
  validateObjects,
} from './output-validate.js';
export { caBundleIssues, type PemProblem, pemLeafCertificates, pemProblem } from './pem.js';
export type {
  ExistingObject,
  PodReference,
  PodReferenceKind,
  UnresolvedPodReference,
  UnresolvedProbePort,
} from './pod-references.js';
export {
  builtInObjects,
  existingObjectOf,
  missingEffect,
  podReferences,
  unresolvedPodReferences,
  unresolvedProbePorts,
} from './pod-references.js';
export type {
  EnforcedPodSecurity,
  PodMetadata,
  PodSecurityCheckId,
  PodSecurityViolation,
  PodSpec,
  PodTemplate,
} from './pod-security.js';
export {
  enforcedPodSecurity,
  POD_SECURITY_LATEST_VERSION,
  podSecurityViolations,
  podTemplateOf,
} from './pod-security.js';
export { positionIssues } from './positions.js';
export {
  checkHaInvariants,
  environmentProfiles,
  HOSTNAME_TOPOLOGY_KEY,
  haPlan,
  workloadResources,
} from './profiles.js';
export type { JsonSyntaxProblem, ReadRegularFileOptions } from './read-file.js';
export {
  FileReadError,
  jsonSyntaxProblem,
  MAX_REPOSITORY_FILE_BYTES,
  readFailureCode,
  readRegularFile,
  readRegularFileIfPresent,
} from './read-file.js';
export type { TemplateHelpers, TemplateSource } from './readme-template.js';
export { templateRenderer } from './readme-template.js';
export { clusterDomain, LINK_ALIAS, nodeLinkName, resolvePlatform } from './resolve.js';
export type { BootstrapRoles, UnresolvedRoleReference } from './role-references.js';
export { unresolvedRoleReferences } from './role-references.js';
export {
  replicasBeyondNodes,
  replicasFitNodes,
  rolloutSurgeRoom,
  stuckRollout,
} from './rollout-room.js';
export type {
  BoundedWait,
  EndlessWait,
  ShellLine,
  TerminalReader,
  WaitLoop,
} from './runbook-shell.js';
export {
  boundedWait,
  commentLines,
  endlessWaits,
  joinedBlock,
  parseBoundedWait,
  READ_ALONE_NOTE,
  readCommand,
  readNotLast,
  readsTerminal,
  shellBlocks,
  terminalReader,
  unchainedGuards,
  uniqueReads,
  WAIT_SECONDS,
  waitLoops,
  type ZshExpansion,
  type ZshWord,
  zshExpandedWords,
} from './runbook-shell.js';
export type { S3EndpointOptions } from './s3-endpoint.js';
export { s3BucketIssues, s3EndpointIssues } from './s3-endpoint.js';
export type { Locator, StandaloneSource } from './schema-validate.js';
export {
  createSchemaValidator,
  didYouMean,
  FORM_MESSAGE,
  schemaIssues,
  standaloneValidators,
  typeMessage,
} from './schema-validate.js';
export type { TalosUpgradePath } from './semantic.js';
export {
  kubernetesSupportedBy,
  SUPPORTED_TALOS,
  TALOS_HOST_DNS_ADDRESS,
  TALOS_MANIFEST_NAMESPACES,
} from './semantic.js';
export {
  type ApplicationSyncOptionsInput,
  applicationManualSync,
  applicationRetry,
  applicationSyncOptions,
  descriptorManualSync,
  descriptorSyncOptions,
  endSyncCommands,
  type ManualSync,
  mergeSyncOption,
  normalizeRetry,
  objectSyncOptions,
  PAUSE_AUTO_SYNC,
  PRUNE,
  pauseAutoSyncCommands,
  resumeAutoSyncCommands,
  rootManualSync,
  SYNC_OPTIONS_ANNOTATION,
  type SyncRetry,
  sameRetry,
  syncOperationPatch,
  TERMINATE_OPERATION,
  withSyncOption,
} from './sync-options.js';
export type {
  ChangeCheck,
  ChangedObject,
  ChangeInput,
  DeployedApplication,
  DeployedCluster,
  DeployedObject,
  SystemCheck,
  SystemInput,
  SystemReport,
} from './system.js';
export {
  applicationLayers,
  awkNumericEquality,
  BUILT_IN_GROUPS,
  boundedWaits,
  CORE_CHECKS,
  clientSideApplySize,
  clusterRunbook,
  crdsBeforeControllers,
  criticalObjectsPruned,
  deployedValues,
  dnsBeforeGitops,
  generatedFile,
  groupKindOf,
  guardsChained,
  handMadeSecretApply,
  handOverFieldManager,
  helmignoreKeepsDependencies,
  kindsBeforeUse,
  manualSyncOptions,
  namespacesBeforeUse,
  ROOT_TARGET_REVISION,
  rootRevisionMove,
  rootRevisionParameter,
  rootRevisionParameters,
  runbookPath,
  runSystemChecks,
  SYSTEM_NAMESPACES,
  secretMadeFrom,
  secretReferences,
  shellComments,
  storageBeforeClaims,
  systemReports,
  terminalReadAlone,
  UNPRUNED_KINDS,
  valuesSource,
  volumeClaimsOf,
  zshExpansions,
} from './system.js';
export type { TarEntry, TarFile } from './tar.js';
export { readChartArchiveFile, tar, untar } from './tar.js';
export type {
  ChartDependency,
  ChartReadme,
  ChartSpec,
  ChartUpgradeCompatibility,
  ChartUpgradePath,
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
  ResourceBase,
  Values,
} from './types.js';
export { ENVIRONMENTS } from './types.js';
export type { TalosInstallVerdict, UpgradeRefusal } from './upgrade-paths.js';
export {
  chartUpgradeRefusal,
  kubernetesUpgradeRefusal,
  talosInstallsOver,
  talosUpgradeRefusal,
} from './upgrade-paths.js';
export type { FilePin, HelmChartPin, UpstreamPin } from './upstream.js';
export {
  chartArchivePath,
  GITHUB_RELEASE_HOSTS,
  MAX_ARTIFACT_BYTES,
  vendorPath,
} from './upstream.js';
export {
  S3_KEY_ROTATION,
  VOLUME_BACKUP_SECRET_KEYS,
  volumeBackupSecret,
  volumeBackupSecretName,
  volumePopulatorIgnore,
  volumePopulatorName,
  volumePopulatorSource,
  volumeResticRepository,
} from './volumes.js';
export type {
  BuildRecord,
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
  holdOutput,
  lockOutput,
  makeFolder,
  planWrite,
  readBuildRecord,
  readChartDir,
  readChartVersions,
  recoverOutput,
  writeTree,
} from './writer.js';
export type { HeaderFormat, ToYamlOptions } from './yaml.js';
export {
  compareStrings,
  DEFAULT_GENERATED_BY,
  generatedHeader,
  isGeneratedContent,
  parseAllDocuments,
  parseYaml,
  requireVariable,
  secretFromVariable,
  shellQuote,
  toJson,
  toYaml,
  toYamlDocuments,
} from './yaml.js';
