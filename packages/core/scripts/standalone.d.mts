/** What a standalone validators module is generated from: ajv options and named schemas. */
export interface StandaloneSourceInput {
  readonly options: object;
  readonly schemas: { readonly [name: string]: object };
}
export declare function standaloneFingerprint(source: StandaloneSourceInput): string;
export declare function standaloneValidatorsModule(source: StandaloneSourceInput): string;
export declare function precompiledTemplateModule(template: string, options: object): string;
