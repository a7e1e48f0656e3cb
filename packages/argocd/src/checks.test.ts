import { parseYaml, toYaml } from '@homelab/core';
import { describe, expect, it } from 'vitest';
import { filteredResources, parsedText } from './checks.js';
import { RESOURCE_EXCLUSIONS } from './exclusions.js';

describe('the YAML texts of the argo-cd values, as the checks read them', () => {
  it("reads the component's own resource.exclusions as parsing would, without parsing", () => {
    const own = toYaml(RESOURCE_EXCLUSIONS.map((filter) => ({ ...filter })));
    expect(filteredResources(own)).toBe(RESOURCE_EXCLUSIONS);
    expect(filteredResources(own)).toStrictEqual(parseYaml(own));
  });

  it('parses any other text, once per text, and keeps its error', () => {
    const other = toYaml([{ apiGroups: [''], kinds: ['Event'] }]);
    expect(filteredResources(other)).toStrictEqual(parseYaml(other));
    expect(filteredResources(other)).toBe(filteredResources(other));
    expect(filteredResources('a: 1\n')).toEqual([]);
    expect(filteredResources(null)).toBeUndefined();
    expect(parsedText('clientID: x\n')).toStrictEqual({ clientID: 'x' });
    expect(parsedText('clientID: x\n')).toBe(parsedText('clientID: x\n'));
    const bad = 'a: [\n';
    const thrown = (): unknown => {
      try {
        parsedText(bad);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const first = thrown();
    expect(first).toBeInstanceOf(Error);
    expect(thrown()).toBe(first);
    expect(() => parseYaml(bad)).toThrow((first as Error).message);
  });
});
