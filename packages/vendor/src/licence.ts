// Which licences oblige us to keep an artifact unmodified and separate from project code.

/**
 * SPDX licence families with copyleft terms (the artifact and changes to it stay under its
 * licence): AGPL, GPL, LGPL, MPL, EPL, EUPL, CDDL, OSL, SSPL, CC-BY-SA.
 */
const COPYLEFT_FAMILIES = /^(AGPL|GPL|LGPL|MPL|EPL|EUPL|CDDL|OSL|SSPL|CC-BY-SA)-/i;

/**
 * True when an SPDX licence expression is copyleft: `AGPL-3.0`, `MPL-2.0`, … . In an expression,
 * `A OR B` is copyleft only when every choice is (a permissive choice may be taken), `A AND B`
 * when any part is; `WITH <exception>` and parentheses are ignored.
 */
export function isCopyleft(licence: string): boolean {
  const expression = licence.replace(/[()]/g, ' ').trim();
  const choices = expression.split(/\s+OR\s+/i);
  return choices.every((choice) =>
    choice
      .split(/\s+AND\s+/i)
      .map((part) => part.replace(/\s+WITH\s+\S+/i, '').trim())
      .some((id) => COPYLEFT_FAMILIES.test(id)),
  );
}

/** An SPDX licence expression as the pins write them: identifiers joined by AND/OR/WITH. */
export const SPDX_EXPRESSION =
  /^\(?[A-Za-z0-9][A-Za-z0-9.+-]*\)?(\s+(AND|OR|WITH)\s+\(?[A-Za-z0-9][A-Za-z0-9.+-]*\)?)*$/;
