// Reading the CLI's human output in the end-to-end tests.

/**
 * The issues and other lines of a CLI run's stderr that are not warnings. An issue over several
 * lines (a message with the YAML to add) is one entry: the CLI indents every line of an issue
 * after its first (packages/cli `issueLine`), and marks a warning at the end of its last line.
 */
export function errorLines(stderr: string): string[] {
  const entries: string[] = [];
  for (const line of stderr.split('\n')) {
    if (line === '') continue;
    const last = entries.length - 1;
    if (/^\s/.test(line) && last >= 0) entries[last] = `${entries[last]}\n${line}`;
    else entries.push(line);
  }
  return entries.filter((entry) => !entry.endsWith('[warning]'));
}
