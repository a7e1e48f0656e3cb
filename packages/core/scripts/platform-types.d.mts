/** TypeScript types of a definition schema, with a generated-by line naming `command` and `source`. */
export declare function generateDefinitionTypes(
  schema: object,
  command: string,
  source: string,
  name?: string,
): Promise<string>;
/** Generates src/generated/platform.ts from schema/definition.schema.json. */
export declare function generatePlatformTypes(): Promise<string>;
