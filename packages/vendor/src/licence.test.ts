import { describe, expect, it } from 'vitest';
import { isCopyleft, SPDX_EXPRESSION } from './licence.js';

describe('isCopyleft', () => {
  it.each([
    ['AGPL-3.0', true],
    ['AGPL-3.0-only', true],
    ['MPL-2.0', true],
    ['GPL-2.0-or-later WITH Classpath-exception-2.0', true],
    ['Apache-2.0 AND LGPL-2.1-only', true],
    ['(MIT OR GPL-2.0-only)', false],
    ['Apache-2.0', false],
    ['MIT', false],
    ['BSD-3-Clause', false],
  ])('%s → %s', (licence, copyleft) => {
    expect(isCopyleft(licence)).toBe(copyleft);
  });
});

describe('SPDX_EXPRESSION', () => {
  it('accepts identifiers and AND/OR/WITH expressions, refuses prose and empty text', () => {
    expect(
      ['Apache-2.0', 'MIT OR GPL-2.0-only', '(MIT AND BSD-3-Clause)'].map((l) =>
        SPDX_EXPRESSION.test(l),
      ),
    ).toEqual([true, true, true]);
    expect(['', 'Apache licence', 'MIT,GPL'].map((l) => SPDX_EXPRESSION.test(l))).toEqual([
      false,
      false,
      false,
    ]);
  });
});
