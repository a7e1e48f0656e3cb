// Comparisons with the last build (`Component.changes`, core's `ChangeCheck`). Pure.
//
// A Longhorn volume takes its settings from its StorageClass once, when the CSI driver creates it
// (longhorn-manager v1.8.1 `csi/controller_server.go` CreateVolume → the volume's spec): a class
// changed later (Argo CD replaces it, `Replace=true,Force=true`) makes only new volumes differ.
// The volumes already made keep the old replica count, data locality, stale-replica timeout and
// disk and node selectors, which their volume resource lets an update change (the webhook,
// `webhook/resources/volume/validator.go` Update, checks only the new values and refuses a move
// to or from `strict-local` while the volume is attached); the file system and data engine they
// keep for good.
import {
  type ChangeCheck,
  type ChangedObject,
  compareStrings,
  type Issue,
  isJson as isTable,
  type KubeObject,
  settingsPath,
  warning,
} from '@homelab/core';
import { LONGHORN_CSI_DRIVER } from './versions.js';

/** StorageClass parameters a volume's resource takes as `spec.<field>`, with their JSON type. */
const VOLUME_FIELDS: { readonly [parameter: string]: 'number' | 'string' | 'list' } = {
  numberOfReplicas: 'number',
  dataLocality: 'string',
  staleReplicaTimeout: 'number',
  diskSelector: 'list',
  nodeSelector: 'list',
};

/**
 * Parameters left out: the recurring jobs reach a volume through its claim's labels
 * (`recurring-job.longhorn.io/source: enabled`, `longhorn-claim-recurring-jobs`), not the class.
 */
const FROM_CLAIMS = new Set(['recurringJobSelector']);

/** Longhorn's StorageClasses among `objects`, by name, with their chart and parameters as text. */
function classes(
  objects: readonly ChangedObject[],
): Map<string, { chart: string; parameters: Map<string, string> }> {
  const out = new Map<string, { chart: string; parameters: Map<string, string> }>();
  for (const { chart, object } of objects) {
    if (!isLonghornClass(object)) continue;
    const parameters = new Map<string, string>();
    const given = isTable(object.parameters) ? object.parameters : {};
    for (const [key, value] of Object.entries(given)) {
      if (!FROM_CLAIMS.has(key)) parameters.set(key, String(value));
    }
    out.set(object.metadata.name, { chart, parameters });
  }
  return out;
}

function isLonghornClass(object: KubeObject): boolean {
  return (
    object.apiVersion === 'storage.k8s.io/v1' &&
    object.kind === 'StorageClass' &&
    object.provisioner === LONGHORN_CSI_DRIVER
  );
}

/** A parameter's text as the volume resource's field takes it. */
function fieldValue(kind: 'number' | 'string' | 'list', text: string): unknown {
  if (kind === 'number') return Number(text);
  if (kind === 'list') {
    return text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  return text;
}

/** What an old replica count does to the volumes that keep it. */
function replicasNote(before: string | undefined, after: string | undefined): string {
  const was = Number(before);
  const is = Number(after);
  if (!Number.isInteger(was) || !Number.isInteger(is) || was === is) return '';
  return was > is
    ? ` (${was} replicas each: where fewer storage nodes have a disk of the tier now, they stay degraded for good)`
    : ` (${was} replica${was === 1 ? '' : 's'} each, fewer than the tier asks for now)`;
}

/** Every Longhorn volume of the class `name` (through its PersistentVolumes), patched with `spec`. */
function patchCommand(name: string, spec: { [field: string]: unknown }): string {
  return `kubectl get pv -o jsonpath='{range .items[?(@.spec.storageClassName=="${name}")]}{.spec.csi.volumeHandle}{"\\n"}{end}' | while read -r volume; do kubectl -n longhorn-system patch volumes.longhorn.io "$volume" --type merge -p '${JSON.stringify({ spec })}'; done`;
}

/**
 * A Longhorn StorageClass whose parameters change against the last build's: the volumes it
 * already made keep the old values. A warning per class, at the tier, with the patch that gives
 * those volumes the new values where their resource takes them (Kubernetes' own PersistentVolume
 * list names them: `spec.csi.volumeHandle` is the Longhorn volume: longhorn-manager v1.8's
 * `CreateVolume`, csi/controller_server.go, names the volume after the request, the PV's name,
 * and returns that name as the CSI volume ID, api/model.go `Id: v.Name`).
 */
export const classParametersCheck: ChangeCheck = {
  name: 'longhorn-class-parameters-changed',
  description:
    "A Longhorn StorageClass's parameters stay what the last build deployed, or the build warns: a Longhorn volume takes them once, when it is made, so the volumes already made keep the old replica count, data locality, timeout and selectors (a replica count above the storage nodes left leaves every old volume degraded) until each is patched.",
  check({ cluster, before, after }) {
    const was = classes(before);
    const issues: Issue[] = [];
    for (const [name, { chart, parameters: now }] of classes(after)) {
      const old = was.get(name)?.parameters;
      if (old === undefined) continue;
      const keys = [...new Set([...old.keys(), ...now.keys()])].sort(compareStrings);
      const changed = keys.filter((key) => old.get(key) !== now.get(key));
      if (changed.length === 0) continue;
      const spec: { [field: string]: unknown } = {};
      const kept: string[] = [];
      for (const key of changed) {
        const kind = VOLUME_FIELDS[key];
        if (kind === undefined) kept.push(key);
        else spec[key] = fieldValue(kind, now.get(key) ?? '');
      }
      const changes = changed
        .map(
          (key) =>
            `${key} ${old.has(key) ? JSON.stringify(old.get(key)) : 'unset'} → ${now.has(key) ? JSON.stringify(now.get(key)) : 'unset'}`,
        )
        .join(', ');
      const strictLocal = [old.get('dataLocality'), now.get('dataLocality')].includes(
        'strict-local',
      );
      const fixes: string[] = [];
      if (Object.keys(spec).length > 0) {
        fixes.push(
          `give the volumes already made the new values once Argo CD synced the class: \`${patchCommand(name, spec)}\`${strictLocal && 'dataLocality' in spec ? ' (Longhorn refuses a move to or from strict-local while a volume is attached: detach it first)' : ''}`,
        );
      }
      if (kept.length > 0) {
        fixes.push(
          `${kept.join(', ')} ${kept.length === 1 ? 'applies' : 'apply'} to new volumes only: an existing volume keeps ${kept.length === 1 ? 'its value' : 'its values'} until it is moved to a new claim ("Moving a volume's claim" in clusters/<cluster>/disaster-recovery.md)`,
        );
      }
      issues.push(
        warning({
          code: 'longhorn-class-parameters-changed',
          path: settingsPath(cluster, 'longhorn', 'tiers', name),
          output: `charts/${chart}`,
          value: name,
          message: `changes the parameters of StorageClass ${name} on cluster "${cluster.name}" from what the last build deployed (${changes}): a Longhorn volume takes them once, when it is made, so the volumes of the class keep the old values${replicasNote(old.get('numberOfReplicas'), now.get('numberOfReplicas'))}`,
          expected: fixes.join('; '),
        }),
      );
    }
    return issues;
  },
};

/** The `taint-toleration` setting the values give Longhorn (`<chart>.defaultSettings`), or ''. */
function taintToleration(values: unknown): string | undefined {
  if (!isTable(values)) return undefined;
  const chart = values.longhorn;
  if (!isTable(chart)) return undefined;
  const settings = isTable(chart.defaultSettings) ? chart.defaultSettings : {};
  return typeof settings.taintToleration === 'string' ? settings.taintToleration : '';
}

/**
 * Longhorn's `taint-toleration` setting changed against the last build's (a storage node
 * tainted, untainted, added tainted, or a control plane with disks in a cluster that gained
 * workers). longhorn-manager v1.8.1 takes the new value into its Setting at once (the default
 * settings ConfigMap), but gives it to what it runs on the nodes only once every volume is
 * detached (`setting_controller.go` `updateTaintToleration`: "failed to apply … when there are
 * attached volumes. It will be eventually applied"; a danger-zone setting). Until then the CSI
 * plugin and engine image DaemonSets keep the old tolerations: a newly tainted storage node runs
 * neither, so its disks hold no replica and its pods mount no Longhorn volume.
 */
export const taintTolerationCheck: ChangeCheck = {
  name: 'longhorn-taint-toleration-changed',
  description:
    "Longhorn's taint toleration (the taints of the storage nodes) stays what the last build deployed, or the build says what it takes: Longhorn applies a changed toleration to its CSI plugin, engine images and instance managers only while every Longhorn volume is detached, so until the volumes are detached once a newly tainted node gets none of them.",
  check({ cluster, beforeValues, afterValues }) {
    const issues: Issue[] = [];
    for (const [chart, values] of afterValues) {
      const now = taintToleration(values);
      const was = taintToleration(beforeValues.get(chart));
      if (now === undefined || was === undefined || now === was) continue;
      issues.push(
        warning({
          code: 'longhorn-taint-toleration-changed',
          path: settingsPath(cluster, 'longhorn'),
          output: `charts/${chart}`,
          value: now,
          message: `changes the taints Longhorn tolerates on cluster "${cluster.name}" (taint-toleration ${JSON.stringify(was)} → ${JSON.stringify(now)}, from the storage nodes' taints): Longhorn gives a changed toleration to its CSI plugin, engine images and instance managers only while every volume is detached (longhorn-manager v1.8.1 updateTaintToleration, a danger-zone setting), so until then a storage node with a new taint runs none of them: its disks take no replica and its pods mount no Longhorn volume`,
          expected:
            'once Argo CD synced the change, stop the workloads that use Longhorn volumes until `kubectl -n longhorn-system get volumes.longhorn.io` shows every volume detached (Longhorn then restarts its components with the new tolerations), then start them again; or taint a storage node before it holds volumes',
        }),
      );
    }
    return issues;
  },
};

/** The comparisons with the last build's charts (`Component.changes`). */
export const longhornChanges: readonly ChangeCheck[] = [classParametersCheck, taintTolerationCheck];
