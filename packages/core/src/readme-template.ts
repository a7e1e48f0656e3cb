// The README template of every chart (chart.ts fills it). Handlebars' compiler costs the CLI
// start-up time, so the build precompiles the template (scripts/standalone.mjs writes
// dist/readme-template.cjs, which needs only the Handlebars runtime); without that module (tests
// run from src/) or when it is stale, the template is compiled with Handlebars on first use.
import { createRequire } from 'node:module';
import { loadGenerated } from './schema-validate.js';

const require = createRequire(import.meta.url);

const README_TEMPLATE = `{{{header}}}
# {{{name}}}

{{{description}}}

{{{summary}}}

| | |
|---|---|
| Chart version | \`{{{version}}}\` |
| App version | \`{{{appVersion}}}\` |
{{#if dependency}}
| Upstream chart | [\`{{{dependency.name}}}\`]({{{dependency.repository}}}) \`{{{dependency.version}}}\` (its values live under \`{{{dependency.name}}}:\`) |
{{/if}}

## Values layers

Argo CD renders this chart with \`helm.valueFiles: [env/<environment>.yaml, clusters/<cluster>.yaml]\`
on top of \`values.yaml\`: maps merge deeply, lists and scalars replace, \`null\` deletes a key.
When an environment has two or more clusters, its layer also holds what they all share (each
manifest whole) and each cluster layer only what is its own.

| Layer | File | Top-level keys |
|---|---|---|
{{#each layers}}
| {{{label}}} | \`{{{file}}}\` | {{{keys}}} |
{{/each}}

## Per-environment values

{{#if envRows.length}}
Values that differ between environments: \`values.yaml\` merged with each environment layer
(\`—\`: not set).

| Key |{{#each environments}} {{{this}}} |{{/each}}
|---|{{#each environments}}---|{{/each}}
{{#each envRows}}
| \`{{{key}}}\` |{{#each cells}} {{{this}}} |{{/each}}
{{/each}}
{{else}}
The environment layers set no differing values.
{{/if}}

## Manifests

Extra objects rendered from \`manifests\` by \`templates/manifests.yaml\`.

{{#if manifestRows.length}}
| Layer | Key | Kind | Name |
|---|---|---|---|
{{#each manifestRows}}
| \`{{{file}}}\` | \`{{{key}}}\` | {{{kind}}} | {{{name}}} |
{{/each}}
{{else}}
This chart has no extra manifests.
{{/if}}
{{#each sections}}

## {{{heading}}}

{{{body}}}
{{/each}}
`;

/** A Handlebars template and its compile options: what scripts/standalone.mjs precompiles. */
export interface TemplateSource {
  readonly template: string;
  readonly options: { readonly noEscape: boolean; readonly strict: boolean };
}

/** The README template; the build precompiles it into dist/readme-template.cjs. */
export const readmeTemplateSource: TemplateSource = {
  template: README_TEMPLATE,
  options: { noEscape: true, strict: false },
};

type Render = (view: object) => string;

/** Helpers a template calls (`{{shell value}}`), passed at render time to either renderer. */
export type TemplateHelpers = { readonly [name: string]: (...args: never[]) => unknown };

/** Must equal scripts/standalone.mjs `precompiledTemplateModule`'s fingerprint. */
function fingerprint(source: TemplateSource): string {
  return JSON.stringify({ template: source.template, options: source.options });
}

type RenderWith = (view: object, options?: { helpers: TemplateHelpers }) => string;

function precompiled(source: TemplateSource, generated: () => unknown): RenderWith | undefined {
  const render = loadGenerated(generated, fingerprint(source))?.render;
  return typeof render === 'function' ? (render as RenderWith) : undefined;
}

/**
 * A renderer of `source`: the precompiled template `generated()` returns (loaded on the first
 * render) when its fingerprint matches, otherwise the template compiled with Handlebars.
 * `helpers` are passed with every render (never registered globally).
 */
export function templateRenderer(
  source: TemplateSource,
  generated: () => unknown,
  helpers?: TemplateHelpers,
): Render {
  let render: RenderWith | undefined;
  return (view) => {
    if (render === undefined) {
      render = precompiled(source, generated);
      if (render === undefined) {
        const handlebars = require('handlebars') as typeof import('handlebars');
        render = handlebars.compile(source.template, { ...source.options }) as RenderWith;
      }
    }
    return helpers === undefined ? render(view) : render(view, { helpers });
  };
}

/** Renders a chart README from its view. */
export const renderReadme: Render = templateRenderer(readmeTemplateSource, () =>
  require('./readme-template.cjs'),
);
