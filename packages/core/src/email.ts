// Email addresses as a setting holds them: one mailbox, `local-part@domain`, nothing around it.
// Parsed with smtp-address-parser (RFC 5321 `Mailbox`, with RFC 6531's UTF-8), which the bundle
// already carries for @kubernetes-models/validate. Pure.
import { parse } from 'smtp-address-parser';

/** What the parser returns for an address it accepts. */
interface ParsedMailbox {
  readonly localPart: { readonly DotString?: string; readonly QuotedString?: string };
  readonly domainPart: { readonly DomainName?: string; readonly AddressLiteral?: string };
}

/**
 * Why `value` is not one plain email address (`ops@example.com`), worded to follow the value in
 * an issue (`is not …`), or undefined when it is one. Refused: anything but a dot-atom local part,
 * `@` and a fully qualified domain name — so no display name (`Ops <ops@example.com>`), no angle
 * brackets, no second address after a comma (mail software reading a header or an address list
 * would send to both), no quoted local part and no address literal (`ops@[192.0.2.1]`).
 */
export function emailAddressProblem(value: string): string | undefined {
  let parsed: ParsedMailbox;
  try {
    parsed = parse(value) as ParsedMailbox;
  } catch (cause) {
    const text = cause instanceof Error ? cause.message : String(cause);
    if (text.includes('not fully qualified')) {
      return 'is not an email address: its domain is not fully qualified (a name with a dot, such as example.com)';
    }
    const column = /\bcol (\d+)\b/.exec(text)?.[1];
    const at = column === undefined ? undefined : Number(column) - 1;
    const character = at === undefined ? undefined : [...value][at];
    return character === undefined || at === undefined
      ? 'is not one email address (local-part@domain)'
      : `is not one email address: ${JSON.stringify(character)} at character ${at + 1} cannot be in one (a display name, <angle brackets>, quotes, spaces or a comma-separated list are not an address)`;
  }
  if (parsed.localPart.QuotedString !== undefined) {
    return 'has a quoted local part ("…"@domain), which mail software reading address lists takes apart differently; use a plain local part';
  }
  if (parsed.domainPart.AddressLiteral !== undefined) {
    return 'has an address literal for its domain (@[…]); use a domain name';
  }
  return undefined;
}
