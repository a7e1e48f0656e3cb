// PEM bundles of CA certificates given in the definition (a CA certificate is public, not a
// secret): what Go's and OpenSSL's loaders would refuse, found at build time with the place in the
// PEM, and the certificates that are no CA's. Pure (node:crypto parses, nothing is read).
import { X509Certificate } from 'node:crypto';
import { error, type Issue, type PathSegment, warning } from './issues.js';

const PEM_BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----$/;
const PEM_END = /^-----END ([A-Z0-9 ]+)-----$/;
const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;

/** A problem of a PEM bundle: where in the PEM (1 is its first line), the line's text, what. */
export interface PemProblem {
  readonly line: number;
  readonly column: number;
  readonly text: string;
  readonly problem: string;
}

/**
 * What is wrong with a PEM bundle of CA certificates, as the Go programs that read one would find
 * it (Go's `AppendCertsFromPEM`: Authelia 4.39 on every *.crt file of certificates_directory, and
 * exits on a file it cannot import; restic's `--cacert`; the AWS SDK's `AWS_CA_BUNDLE`): the
 * first problem, with its line (1 is
 * the first line of the PEM) and column, or undefined when every block is a certificate that
 * parses. Go's `encoding/pem` finds a block only where `-----BEGIN ` and `-----END ` start a line
 * (an indented one is text to it) and skips the text around blocks; that text is refused here
 * too, as it hides a paste gone wrong. Empty lines inside a block are allowed, as Go's base64
 * decoder skips line ends.
 */
export function pemProblem(pem: string): PemProblem | undefined {
  const lines = pem.replace(/\r\n?/g, '\n').split('\n');
  const at = (line: number, raw: string, problem: string): PemProblem => {
    const text = raw.trim();
    return {
      line,
      column: raw.length - raw.trimStart().length + 1,
      text: text.slice(0, 72),
      problem,
    };
  };
  const first = lines.findIndex((raw) => raw.trim() !== '');
  if (first === -1)
    return { line: 1, column: 1, text: '', problem: 'no -----BEGIN CERTIFICATE----- block' };
  if (!pem.includes('-----BEGIN ')) {
    return at(
      first + 1,
      lines[first] ?? '',
      'no -----BEGIN CERTIFICATE----- line (the value is the text of the certificates itself: a file name is not read)',
    );
  }
  const nonEmpty = lines.filter((raw) => raw.trim() !== '');
  if (nonEmpty.length === 1 && /-----BEGIN [A-Z0-9 ]+-----\s+\S/.test(nonEmpty[0] ?? '')) {
    return at(
      first + 1,
      lines[first] ?? '',
      'its lines are joined into one (a value without `|`, folded with `>` or quoted: YAML turns line ends into spaces)',
    );
  }
  let block: { type: string; start: number; body: { line: number; text: string }[] } | undefined;
  let certificates = 0;
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const text = raw.trim();
    const indented = raw.length - raw.trimStart().length;
    if (block === undefined) {
      if (text === '') continue;
      const begin = PEM_BEGIN.exec(text);
      if (begin === null) return at(line, raw, 'text outside a -----BEGIN CERTIFICATE----- block');
      if (begin[1] !== 'CERTIFICATE') {
        return at(
          line,
          raw,
          `a ${begin[1]} block where only certificates belong${/PRIVATE KEY/.test(begin[1] ?? '') ? " (a private key is a secret: never put it in the definition; only the CA's certificate is needed, e.g. ca.crt)" : ''}`,
        );
      }
      if (indented > 0) {
        return at(
          line,
          raw,
          `-----BEGIN CERTIFICATE----- indented ${indented} space(s) more than the block's first line: Go's PEM reader finds a block only where the line starts with it`,
        );
      }
      block = { type: begin[1], start: line, body: [] };
      continue;
    }
    if (text === '') continue;
    const end = PEM_END.exec(text);
    if (end !== null) {
      if (end[1] !== block.type) {
        return at(line, raw, `-----END ${end[1]}----- closes a ${block.type} block`);
      }
      if (indented > 0) {
        return at(
          line,
          raw,
          `-----END ${end[1]}----- indented ${indented} space(s) more than the block's first line: Go's PEM reader finds the end only where the line starts with it`,
        );
      }
      const der = Buffer.from(block.body.map((entry) => entry.text).join(''), 'base64');
      try {
        new X509Certificate(der);
      } catch {
        // Lines of one width but the last: a shorter one before it was cut short.
        const width = block.body[0]?.text.length ?? 0;
        const short = block.body.slice(0, -1).find((entry) => entry.text.length < width);
        if (short !== undefined) {
          return at(
            short.line,
            lines[short.line - 1] ?? '',
            `a line of ${short.text.length} characters where the certificate's other lines have ${width} (cut short) in the certificate of lines ${block.start}\u2013${line}, which does not parse as X.509`,
          );
        }
        return at(
          block.start,
          lines[block.start - 1] ?? '',
          `the certificate of lines ${block.start}\u2013${line} does not parse as X.509 (a line lost, changed or cut short)`,
        );
      }
      certificates += 1;
      block = undefined;
      continue;
    }
    if (PEM_BEGIN.test(text))
      return at(line, raw, `a new block begins before line ${block.start}'s ends`);
    if (!BASE64_LINE.test(text)) return at(line, raw, 'not base64 inside a certificate');
    block.body.push({ line, text });
  }
  if (block !== undefined) {
    return at(
      block.start,
      lines[block.start - 1] ?? '',
      'a certificate without its -----END CERTIFICATE----- line',
    );
  }
  if (certificates === 0) {
    return { line: 1, column: 1, text: '', problem: 'no -----BEGIN CERTIFICATE----- block' };
  }
  return undefined;
}

/**
 * The certificates of a bundle that pemProblem accepts that are no CA's (basic constraints
 * CA:FALSE, or none): a server's own certificate pasted instead of the CA that signed it. Go's
 * verifier accepts a server whose certificate is exactly one of its roots, so the client works
 * until that certificate is renewed, then refuses the server (`x509: certificate signed by
 * unknown authority`). Each with its BEGIN line and subject.
 */
export function pemLeafCertificates(pem: string): { line: number; subject: string }[] {
  const lines = pem.replace(/\r\n?/g, '\n').split('\n');
  const leaves: { line: number; subject: string }[] = [];
  let start = 0;
  let body: string[] | undefined;
  for (const [index, raw] of lines.entries()) {
    const text = raw.trim();
    if (body === undefined) {
      if (text === '-----BEGIN CERTIFICATE-----') {
        body = [];
        start = index + 1;
      }
      continue;
    }
    if (text === '-----END CERTIFICATE-----') {
      try {
        const certificate = new X509Certificate(Buffer.from(body.join(''), 'base64'));
        if (!certificate.ca) {
          leaves.push({ line: start, subject: certificate.subject.replace(/\n/g, ', ') });
        }
      } catch {
        // pemProblem reports it.
      }
      body = undefined;
      continue;
    }
    body.push(text);
  }
  return leaves;
}

/**
 * The issues of a CA bundle a setting gives (`path`, the setting `key` itself): its first problem
 * as an error at the line and column inside the PEM, with `consequence` (what the program that
 * reads it does), else a warning per certificate that is no CA's, which `reader` trusts only until
 * it is renewed.
 */
export function caBundleIssues(input: {
  readonly pem: string;
  readonly path: readonly PathSegment[];
  readonly code: string;
  /** The setting's key, for the example of the fix (`caCertificates: |`). */
  readonly key: string;
  /** What refuses it and how, e.g. "Authelia would refuse the file and exit at start". */
  readonly consequence: string;
  /** Who trusts a server by its own certificate, e.g. "Authelia". */
  readonly reader: string;
}): Issue[] {
  const found = pemProblem(input.pem);
  if (found !== undefined) {
    return [
      error({
        code: input.code,
        path: [...input.path],
        within: { line: found.line, column: found.column },
        ...(found.text === '' ? {} : { value: `line ${found.line}: ${found.text}` }),
        message: `is not a PEM bundle of certificates: ${found.problem}, at line ${found.line}, column ${found.column} of the PEM (${input.consequence})`,
        expected: `one or more certificates, each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE----- with its base64 lines unchanged, as a YAML block scalar (${input.key}: |); e.g. the output of \`openssl x509 -in ca.crt -outform PEM\``,
      }),
    ];
  }
  return pemLeafCertificates(input.pem).map((leaf) =>
    warning({
      code: input.code,
      path: [...input.path],
      within: { line: leaf.line, column: 1 },
      value: `line ${leaf.line}: ${leaf.subject}`,
      message: `holds a certificate that is no CA's (${leaf.subject}, without CA:TRUE), at line ${leaf.line} of the PEM: ${input.reader} trusts a server that presents exactly this certificate, and refuses it once the certificate is renewed (x509: certificate signed by unknown authority)`,
      expected:
        "the certificate of the CA that signed the server's (its issuer: `openssl x509 -in server.crt -noout -issuer` names it)",
    }),
  );
}
