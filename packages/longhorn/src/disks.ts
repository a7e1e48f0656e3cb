// The Longhorn disks of a cluster, from the definition: each storage node's data disks (a Talos
// user volume at /var/mnt/<name>, tagged with its class and tier) and, unless switched off, a disk
// on its system disk (/var/lib/longhorn, tagged with the system-disk tier). Longhorn creates them
// from the node's annotation (`createDefaultDiskLabeledNodes` and the label
// `node.longhorn.io/create-default-disk: config`) only while its Longhorn node has no disk
// (longhorn-manager v1.8.1 `syncDefaultDisks`: in practice when it first sees the node),
// reserving nothing on a data disk and Longhorn's default 30 % on the system disk; a later change
// of the annotation changes nothing there, so the runbook patches the Longhorn node from the same
// list (`diskChangeStep`). Pure.
import type {
  Issue,
  PathSegment,
  ResolvedCluster,
  ResolvedNode,
  TalosNodeNeeds,
} from '@homelab/core';
import { error } from '@homelab/core';
import {
  DEFAULT_DISK_MIN_SIZE,
  type ResolvedLonghornSettings,
  SYSTEM_DISK_PATH,
  USER_VOLUME_ROOT,
} from './settings.js';

/** Label that makes Longhorn create the node's disks from its annotation. */
export const CREATE_DISK_LABEL = 'node.longhorn.io/create-default-disk';
/**
 * Annotation with the node's disks (JSON list), read only while the node's Longhorn node has no
 * disk (`syncDefaultDisks`): changing it later adds or re-tags nothing.
 */
export const DISKS_ANNOTATION = 'node.longhorn.io/default-disks-config';

/** One Longhorn disk of a node. */
export interface LonghornDisk {
  readonly node: ResolvedNode;
  readonly name: string;
  readonly path: string;
  readonly tier: string;
  /** `undefined` for the system disk (its class is not in the definition). */
  readonly diskClass: 'ssd' | 'hdd' | undefined;
  /** Longhorn tags: the class (when known) and the tier. */
  readonly tags: readonly string[];
}

/**
 * What Longhorn keeps free for others on a data disk, in bytes: nothing. longhorn-manager v1.8.1
 * (`types.CreateDisksFromAnnotation`) replaces a `storageReserved` of 0 (or none) with
 * `storage-reserved-percentage-for-default-disk` (30 %) of the disk, a reserve meant for the
 * root disk the kubelet and the container images share ("Root Disk Reservation"); a data disk is
 * a Talos user volume only Longhorn uses, so the smallest reserve Longhorn keeps as given (one
 * byte) leaves the whole disk to it. The system disk keeps the 30 %.
 */
export const DATA_DISK_RESERVED_BYTES = 1;

/** A disk as `node.longhorn.io/default-disks-config` lists it. */
export interface DiskConfig {
  readonly name: string;
  readonly path: string;
  readonly allowScheduling: boolean;
  /** Absent: Longhorn reserves `storage-reserved-percentage-for-default-disk` of the disk. */
  readonly storageReserved?: number;
  readonly tags: readonly string[];
}

export interface ClusterDisks {
  readonly disks: readonly LonghornDisk[];
  /** Per storage node (hostname): labels, annotations and user volumes Talos must set up. */
  readonly talos: { readonly [hostname: string]: TalosNodeNeeds };
  /** Per storage node (hostname): the disks its annotation lists, in its order. */
  readonly configs: { readonly [hostname: string]: readonly DiskConfig[] };
  readonly issues: readonly Issue[];
}

/** Storage nodes with a disk of `tier`. */
export function nodesWithTier(disks: readonly LonghornDisk[], tier: string): string[] {
  return [...new Set(disks.filter((d) => d.tier === tier).map((d) => d.node.hostname))].sort();
}

/** The disks and the Talos node needs of a cluster; unknown tiers and wrong classes as issues. */
export function clusterDisks(
  cluster: ResolvedCluster,
  settings: ResolvedLonghornSettings,
  path: (...segments: PathSegment[]) => PathSegment[],
): ClusterDisks {
  const issues: Issue[] = [];
  const tiers = new Map(settings.tiers.map((tier) => [tier.name, tier]));
  const known = [...tiers.keys()].join(', ');
  if (settings.systemDiskTier !== undefined && !tiers.has(settings.systemDiskTier)) {
    issues.push(
      error({
        code: 'longhorn-tier',
        path: path('systemDiskTier'),
        value: settings.systemDiskTier,
        message: 'is not a tier of longhorn.tiers',
        expected: `one of ${known}`,
      }),
    );
  }
  const disks: LonghornDisk[] = [];
  const talos: { [hostname: string]: TalosNodeNeeds } = {};
  const configs: { [hostname: string]: readonly DiskConfig[] } = {};
  for (const node of cluster.storageNodes) {
    const own: LonghornDisk[] = [];
    if (settings.systemDiskTier !== undefined) {
      own.push({
        node,
        name: 'system',
        path: SYSTEM_DISK_PATH,
        tier: settings.systemDiskTier,
        diskClass: undefined,
        tags: [settings.systemDiskTier],
      });
    }
    node.disks.forEach((disk, index) => {
      const at: PathSegment[] = ['clusters', cluster.index, 'nodes', node.index, 'disks', index];
      const tier = tiers.get(disk.tier);
      if (tier === undefined) {
        issues.push(
          error({
            code: 'longhorn-tier',
            path: [...at, 'tier'],
            value: disk.tier,
            message: `is not a storage tier (node "${node.hostname}", disk "${disk.name}")`,
            expected: `one of ${known} (longhorn.tiers)`,
          }),
        );
      } else if (tier.diskClass !== undefined && tier.diskClass !== disk.class) {
        issues.push(
          error({
            code: 'longhorn-disk-class',
            path: [...at, 'class'],
            value: disk.class,
            message: `puts an ${disk.class.toUpperCase()} into tier "${disk.tier}", which holds only ${tier.diskClass.toUpperCase()}s (node "${node.hostname}", disk "${disk.name}")`,
            expected: `class ${tier.diskClass}, or another tier`,
          }),
        );
      }
      const minSize = disk.minSize ?? DEFAULT_DISK_MIN_SIZE;
      const min = byteSize(minSize);
      const max = disk.maxSize === undefined ? undefined : byteSize(disk.maxSize);
      if (min !== undefined && max !== undefined && min > max) {
        issues.push(
          error({
            code: 'data-disk-size',
            path: [...at, disk.minSize === undefined ? 'maxSize' : 'minSize'],
            value: disk.minSize ?? disk.maxSize,
            message:
              disk.minSize === undefined
                ? `is below the default minSize ${DEFAULT_DISK_MIN_SIZE} (node "${node.hostname}", disk "${disk.name}"): Talos refuses the UserVolumeConfig ("min size is greater than max size")`
                : `is greater than maxSize ${disk.maxSize} (node "${node.hostname}", disk "${disk.name}"): Talos refuses the UserVolumeConfig ("min size is greater than max size")`,
            expected:
              disk.minSize === undefined
                ? `maxSize of at least ${DEFAULT_DISK_MIN_SIZE}, or a smaller minSize`
                : `minSize no greater than maxSize ${disk.maxSize}`,
          }),
        );
      }
      own.push({
        node,
        name: disk.name,
        path: `${USER_VOLUME_ROOT}/${disk.name}`,
        tier: disk.tier,
        diskClass: disk.class,
        tags: [disk.class, disk.tier],
      });
    });
    if (own.length === 0) {
      issues.push(
        error({
          code: 'longhorn-disks',
          path: ['clusters', cluster.index, 'nodes', node.index],
          value: node.hostname,
          message: `storage node "${node.hostname}" has no data disk and longhorn.systemDisk is false: Longhorn would have no disk there`,
          expected: 'data disks on the node, longhorn.systemDisk: true, or storage: false',
        }),
      );
    }
    disks.push(...own);
    const config: DiskConfig[] = own.map((disk) => ({
      name: disk.name,
      path: disk.path,
      allowScheduling: true,
      ...(disk.path === SYSTEM_DISK_PATH ? {} : { storageReserved: DATA_DISK_RESERVED_BYTES }),
      tags: disk.tags,
    }));
    configs[node.hostname] = config;
    talos[node.hostname] = {
      labels: { [CREATE_DISK_LABEL]: 'config' },
      annotations: { [DISKS_ANNOTATION]: JSON.stringify(config) },
      userVolumes: node.disks.map((disk) => ({
        name: disk.name,
        disk: disk.selector,
        minSize: disk.minSize ?? DEFAULT_DISK_MIN_SIZE,
        ...(disk.maxSize === undefined ? {} : { maxSize: disk.maxSize }),
      })),
    };
  }
  return { disks, talos, configs, issues };
}

/** Bytes per unit, as Talos reads sizes (go-humanize `ParseBytes`: kB/KB 1000, KiB 1024). */
const UNITS: { readonly [unit: string]: number } = {
  '': 1,
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
};

/** A definition byte size (`100GiB`, `500 GB`) in bytes; `undefined` when unreadable. */
function byteSize(text: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s?([a-zA-Z]*)$/.exec(text);
  const unit = match === null ? undefined : UNITS[match[2] ?? ''];
  return match === null || unit === undefined ? undefined : Number(match[1]) * unit;
}

/** The disks a node's annotation lists (what Longhorn will create), or undefined when unreadable. */
export function parseDisksAnnotation(
  value: string | undefined,
):
  | readonly { readonly name: string; readonly path: string; readonly tags: readonly string[] }[]
  | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed)) return undefined;
    return parsed.map((entry) => ({
      name: String((entry as { name?: unknown }).name ?? ''),
      path: String((entry as { path?: unknown }).path ?? ''),
      tags: Array.isArray((entry as { tags?: unknown }).tags)
        ? ((entry as { tags: unknown[] }).tags.map(String) as string[])
        : [],
    }));
  } catch {
    return undefined;
  }
}

/** Longhorn's `DiskSpec` (longhorn.io/v1beta2 Node `spec.disks.<name>`) as the runbook sets it. */
export interface DiskSpecPatch {
  readonly path: string;
  readonly allowScheduling: boolean;
  readonly tags: readonly string[];
  readonly storageReserved?: number;
  /** What Longhorn's mutating webhook sets on a disk without a type (v1.8.1 node mutator). */
  readonly diskType: 'filesystem';
}

/**
 * The merge patch of a node's Longhorn node that gives it one disk of its annotation, as
 * `syncDefaultDisks` would have created it: path, scheduling, tags and reserve as the annotation
 * lists them. `overrides` for the system disk, whose reserve Longhorn computes from its size.
 */
export function diskSpecPatch(
  config: DiskConfig,
  overrides: Partial<Pick<DiskSpecPatch, 'allowScheduling' | 'storageReserved'>> = {},
): { readonly spec: { readonly disks: { readonly [name: string]: DiskSpecPatch } } } {
  const storageReserved = overrides.storageReserved ?? config.storageReserved;
  return {
    spec: {
      disks: {
        [config.name]: {
          path: config.path,
          allowScheduling: overrides.allowScheduling ?? config.allowScheduling,
          tags: config.tags,
          ...(storageReserved === undefined ? {} : { storageReserved }),
          diskType: 'filesystem',
        },
      },
    },
  };
}
