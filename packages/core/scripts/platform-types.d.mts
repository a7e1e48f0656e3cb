/** Generates src/generated/platform.ts from schema/platform.schema.json (json-schema-to-typescript). */
export declare function generatePlatformTypes(): Promise<string>;
