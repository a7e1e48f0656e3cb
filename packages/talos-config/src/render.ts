import {
  type GeneratedFile,
  generatedHeader,
  type Issue,
  type ResolvedPlatform,
  type TalosRequirements,
  toYamlDocuments,
} from '@homelab/core';
import { buildPatches } from './patches.js';
import { mergeTalosRequirements } from './requirements.js';
import { runbook } from './runbook.js';
import { installerImage, schematic, schematicId } from './schematic.js';
import { checkTalosVersion } from './versions.js';

/** The command every generated file names in its first line. */
export const TALOS_GENERATED_BY = 'pnpm build (homelab build)';

export interface RenderTalosOptions {
  /** Command named in the generated-by first line (default `pnpm build (homelab build)`). */
  readonly generatedBy?: string;
}

export interface TalosRenderResult {
  readonly files: GeneratedFile[];
  readonly issues: Issue[];
}

/**
 * Renders `clusters/<cluster>/talos/` for every cluster: role patches, one patch per node, the
 * Image Factory schematic and the bootstrap runbook. `requirements` holds, per cluster name,
 * what each component asks of Talos. Pure. A cluster with errors (unsupported Talos version,
 * conflicting requirements) gets no files; its issues say why.
 */
export function renderTalos(
  platform: ResolvedPlatform,
  requirements: { readonly [cluster: string]: readonly TalosRequirements[] },
  options: RenderTalosOptions = {},
): TalosRenderResult {
  const command = options.generatedBy ?? TALOS_GENERATED_BY;
  const yamlFile = (documents: readonly unknown[]): string =>
    toYamlDocuments(documents, { header: generatedHeader(command) });
  const files: GeneratedFile[] = [];
  const issues: Issue[] = [];

  for (const cluster of platform.clusters) {
    const checked = checkTalosVersion(
      cluster.talosVersion,
      `clusters[${cluster.index}].talos.version`,
    );
    issues.push(...checked.issues);
    const merged = mergeTalosRequirements(cluster, requirements[cluster.name] ?? []);
    issues.push(...merged.issues);
    const version = checked.version;
    if (version === undefined || merged.issues.some((issue) => issue.severity === 'error'))
      continue;

    const id = schematicId(merged.merged.extensions);
    const image = installerImage(id, version.tag);
    const built = buildPatches({
      cluster,
      version,
      requirements: merged.merged,
      installImage: image,
    });
    issues.push(...built.issues);
    if (built.issues.some((issue) => issue.severity === 'error')) continue;

    const dir = `clusters/${cluster.name}/talos`;
    const { patches } = built;
    files.push(
      {
        path: `${dir}/controlplane.yaml`,
        content: yamlFile(patches.controlPlane),
      },
      { path: `${dir}/worker.yaml`, content: yamlFile(patches.worker) },
      ...patches.nodes.map((patch) => ({
        path: `${dir}/nodes/${patch.node.hostname}.yaml`,
        content: yamlFile(patch.documents),
      })),
      {
        path: `${dir}/schematic.yaml`,
        content: yamlFile([schematic(merged.merged.extensions)]),
      },
      {
        path: `${dir}/README.md`,
        content: runbook({
          header: generatedHeader(command, 'markdown'),
          cluster,
          version,
          requirements: merged.merged,
          patches,
          schematicId: id,
          installImage: image,
          dir,
        }),
      },
    );
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, issues };
}
