// Values of grafana.ini as Grafana reads them back: what it expands and what its INI parser takes
// as syntax. Pure.

/**
 * What Grafana expands in every value of grafana.ini when it loads it (pkg/setting/expanders.go,
 * `\$(|__\w+){([^}]+)}`): `$__env{VAR}` and `${VAR}` an environment variable, `$__file{path}` a
 * file's content, `$__vault{…}` (Enterprise) a secret store's value.
 */
const GRAFANA_EXPANSION = /\$(?:__\w+)?\{[^}]+\}/;

/**
 * Why `value` cannot be a value of grafana.ini as written, or undefined when Grafana reads it
 * unchanged: an expansion (the Grafana pod has the admin's credentials and the OIDC client
 * secret in its environment, so a label `$__env{GF_SECURITY_ADMIN_PASSWORD}` would put the admin
 * password on the login page), or what go-ini (`gopkg.in/ini.v1`, Grafana's default load
 * options) reads as syntax: `#` or `;` starting an inline comment, a leading `"` or backquote or
 * surrounding `'` quoting the value, a final
 * `\` continuing the line, spaces around the value.
 */
export function grafanaIniProblem(value: string): string | undefined {
  const expansion = GRAFANA_EXPANSION.exec(value)?.[0];
  if (expansion !== undefined) {
    return `holds "${expansion}", which Grafana replaces when it loads grafana.ini ($__env{…} and \${…} with an environment variable, $__file{…} with a file, $__vault{…} with a secret): the value would become what it names, e.g. the admin password for $__env{GF_SECURITY_ADMIN_PASSWORD}`;
  }
  const comment = /[#;]/.exec(value);
  if (comment !== null) {
    return `has "${comment[0]}", which starts a comment in grafana.ini: Grafana would read only ${JSON.stringify(value.slice(0, comment.index).trim())}`;
  }
  if (/^["`]/.test(value) || (value.length > 1 && value.startsWith("'") && value.endsWith("'"))) {
    return 'starts with a quote, which grafana.ini reads as quoting the value';
  }
  if (value.endsWith('\\')) return 'ends with "\\", which continues the line in grafana.ini';
  if (value.trim() !== value) return 'has spaces around it, which grafana.ini drops';
  return undefined;
}
