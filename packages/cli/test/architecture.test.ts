// The contract's boundaries, checked on the code: core names no component, components never
// import each other, and the assemblers (talos-config, argocd-apps) import none.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CAPABILITIES } from '@homelab/core';
import { repoRoot } from '@homelab/core/testing';
import { describe, expect, it } from 'vitest';
import { REGISTRY } from '../src/registry.js';

const root = repoRoot();

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Code without comments and string literals' contents that are only prose. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** The workspace package a component comes from (`@homelab/<folder>`). */
function packageOf(component: string): string {
  for (const folder of readdirSync(join(root, 'packages'))) {
    const index = join(root, 'packages', folder, 'src', 'index.ts');
    try {
      const exports = readFileSync(index, 'utf8');
      if (new RegExp(`\\b${component}Component\\b`).test(exports)) return `@homelab/${folder}`;
    } catch {}
  }
  throw new Error(`no package exports the ${component} component`);
}

const componentPackages = [
  ...new Set(
    REGISTRY.map((component) =>
      packageOf(component.name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())),
    ),
  ),
];

function dependencies(folder: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', folder, 'package.json'), 'utf8')) as {
    dependencies?: { [name: string]: string };
    devDependencies?: { [name: string]: string };
  };
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
}

describe('the contract boundaries', () => {
  it('knows every registered component package', () => {
    expect(componentPackages.length).toBe(new Set(REGISTRY.map((c) => c.name)).size);
  });

  it('core names no component in its code', () => {
    const offenders: string[] = [];
    // A component may be named after the capability it provides (`gateway`): core names the
    // capability, which is the contract, not the component.
    const capabilities: ReadonlySet<string> = new Set(CAPABILITIES);
    for (const file of sources(join(root, 'packages/core/src'))) {
      // Core's list of the API groups the API server serves names `policy` (PodDisruptionBudgets'
      // group), which is also the name of the admission-policy component: not a reference to it.
      // Its reading of runbook shell blocks names the `argocd` CLI, whose login prompts it
      // knows as it knows kubectl's: a tool of the documents, not the component.
      const code = withoutComments(readFileSync(file, 'utf8'))
        .replace(/const BUILT_IN_GROUPS[^;]*;/, '')
        .replace(/const ARGOCD_CLI = 'argocd';/, '');
      for (const component of REGISTRY) {
        if (capabilities.has(component.name)) continue;
        if (new RegExp(`['"\`]${component.name}['"\`]`).test(code)) {
          offenders.push(`${file.slice(root.length + 1)}: '${component.name}'`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no component package depends on another, and the assemblers depend on none', () => {
    const problems: string[] = [];
    for (const folder of readdirSync(join(root, 'packages'))) {
      const name = `@homelab/${folder}`;
      const isComponent = componentPackages.includes(name);
      const isAssembler = folder === 'talos-config' || folder === 'argocd-apps';
      if (!isComponent && !isAssembler) continue;
      for (const dependency of dependencies(folder)) {
        if (componentPackages.includes(dependency) && dependency !== name) {
          problems.push(`${name} depends on ${dependency}`);
        }
      }
      for (const file of sources(join(root, 'packages', folder, 'src'))) {
        for (const other of componentPackages) {
          if (other !== name && readFileSync(file, 'utf8').includes(`'${other}'`)) {
            problems.push(`${file.slice(root.length + 1)} imports ${other}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
