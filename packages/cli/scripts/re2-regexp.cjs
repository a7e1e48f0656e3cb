// Stand-in for the `re2-wasm` package inside the CLI bundle (scripts/bundle.mjs resolves
// `re2-wasm` here). @kubernetes-models/validate compiles the Go (RE2) patterns of some schemas
// with re2-wasm, whose WebAssembly module costs a build more than 100 ms to compile and would
// have to be shipped beside the bundle. The patterns the bundled schemas use are JavaScript
// patterns except for Go's case-insensitive flag `(?i)`, which this turns into the `i` flag (for
// the whole pattern: at most more permissive than RE2). Any other RE2-only syntax throws, so a
// schema upgrade that needs the real RE2 fails loudly instead of validating differently. Tests
// run the real re2-wasm.
'use strict';

const UNSUPPORTED = /\(\?[a-hj-zA-Z]|\\[zQEACpP]/;

class RE2 {
  constructor(pattern, flags = '') {
    const source = String(pattern);
    const insensitive = source.includes('(?i)');
    const translated = source.split('(?i)').join('');
    if (UNSUPPORTED.test(translated)) {
      throw new Error(`re2-regexp: RE2 pattern ${JSON.stringify(source)} needs the real re2-wasm`);
    }
    this.regexp = new RegExp(translated, `${flags.replace(/[^u]/g, '')}${insensitive ? 'i' : ''}`);
  }

  test(text) {
    return this.regexp.test(text);
  }
}

module.exports = { RE2 };
