// Reading parsed Kubernetes objects whose shape is not known in advance: an absent or mistyped
// field reads as empty instead of throwing, so the checks compare only what is there.

import type { JsonValue } from './types.js';

/** A JSON object, read-only. */
export type Json = { readonly [key: string]: unknown };

/** Whether `value` is a JSON object (not null, not a list). */
export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is a JSON object of JSON values (values, layers, emitted documents). */
export function isJsonTable(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` when it is a JSON object, else an empty one. */
export function record(value: unknown): Json {
  return isJson(value) ? value : {};
}

/** `value` when it is a list, else an empty one. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
