// Cilium compiles the interface patterns of its L2 announcement policy with Go's `regexp`
// (`regexp.Compile`, RE2 syntax), not JavaScript's: lookaround, back-references and possessive
// quantifiers are JavaScript only, and a pattern Go refuses makes Cilium announce on no
// interface. @bufbuild/re2 (RE2JS, the port of RE2/J the policy engine already uses for CEL's
// `matches`) parses the same syntax with Go's Perl flags and matches the same way. Pure.
import { RE2JS } from '@bufbuild/re2';

/** A compiled pattern: `test` finds a match anywhere in `text` (Go's `MatchString`). */
export interface GoRegexp {
  test(text: string): boolean;
}

/**
 * `source` compiled as Go's `regexp.Compile` would, or why Go refuses it (RE2's parser message
 * without its `error parsing regexp: ` prefix, e.g. "invalid or unsupported Perl syntax: `(?!`").
 */
export function compileGoRegexp(source: string): GoRegexp | string {
  try {
    const compiled = RE2JS.compile(source);
    return { test: (text) => compiled.test(text) };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return message.replace(/^error parsing regexp: /, '');
  }
}
