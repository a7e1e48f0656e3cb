import { describe, expect, test } from 'vitest';
import { emailAddressProblem } from './email.js';

describe('emailAddressProblem', () => {
  test('takes one plain address', () => {
    expect(emailAddressProblem('ops@lab.example.com')).toBeUndefined();
    expect(emailAddressProblem('first.last+alerts@mail-host.example.org')).toBeUndefined();
  });

  test('names the first character that cannot be in an address', () => {
    expect(emailAddressProblem("x'$(id)<x>,evil@attacker.com")).toBe(
      'is not one email address: "(" at character 4 cannot be in one (a display name, <angle brackets>, quotes, spaces or a comma-separated list are not an address)',
    );
    expect(emailAddressProblem('XQ\'$(id)`id`<>,"x@mydomain.net')).toMatch(
      /^is not one email address: "\(" at character 5 /,
    );
    expect(emailAddressProblem('a@example.com,evil@attacker.com')).toMatch(/"," at character 14/);
    expect(emailAddressProblem('Ops <ops@example.com>')).toMatch(/" " at character 4/);
  });

  test('refuses a domain without a dot, a quoted local part and an address literal', () => {
    expect(emailAddressProblem('ops@localhost')).toMatch(/its domain is not fully qualified/);
    expect(emailAddressProblem('"a,b"@example.com')).toMatch(/^has a quoted local part/);
    expect(emailAddressProblem('ops@[192.0.2.1]')).toMatch(/^has an address literal/);
  });
});
