// What a runbook's shell blocks must be to be pasted into a terminal safely (the system checks
// `terminal-read-alone` and `bounded-waits` in system.ts read the generated documents with the
// parsers below):
// - a prompt (`read`) is the last line of its block: the terminal feeds every line pasted after
//   it into read's stdin, so the next command would become the value and the value typed later
//   would run as a command. `readCommand` is the one spelling; components list their prompts as
//   `reads` (BootstrapStep, BootstrapSecret) and the runbooks give each its own block. A command
//   that takes the terminal over (`kubectl exec -it`, an edit, `talosctl dashboard`, a `git
//   commit` without a message, a `git push` or other remote command that may ask for
//   credentials, an argocd password prompt: `terminalReader`) ends its block too: the lines
//   pasted after it are typed into it.
// - every wait loop has a deadline and, when it passes, says what did not happen and fails:
//   `boundedWait`, with the bounds of `WAIT_SECONDS`. `kubectl wait --timeout=…` and
//   `kubectl rollout status --timeout=…` are bounded already; `kubectl rollout status`,
//   `kubectl drain` and `kubectl delete` (unless `--wait=false`) without a positive `--timeout`,
//   and `curl` without a `--max-time`, wait without end, or for a week (`endlessWaits`).
// - no block holds a `#` comment (`shell-comments`, `commentLines`): zsh, macOS' login shell,
//   does not read comments on its prompt (INTERACTIVE_COMMENTS is off by default) and runs `#`
//   as a command with the rest of the line as its arguments; what a comment would say goes in
//   the prose around the block (a step's `body` or `after`).
// - no word is one zsh expands where bash passes it on (`zsh-expansions`, `zshExpandedWords`): an
//   unquoted `*`, `?` or `[` (NOMATCH stops the command when no file matches), `=cmd`, `~name`.
import type { ShellRead } from './contract.js';
import { shellQuote } from './yaml.js';

const VARIABLE = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The one line that prompts for `read.prompt`, reads the value without echoing it and exports
 * it: `printf '%s' 'S3 access key id: ' && read -rs AWS_ACCESS_KEY_ID && export … && echo`. It
 * must end its block (`terminal-read-alone`).
 */
export function readCommand(read: ShellRead): string {
  if (!VARIABLE.test(read.variable)) throw new Error(`not a shell variable: ${read.variable}`);
  return `printf '%s' ${shellQuote(`${read.prompt}: `)} && read -rs ${read.variable} && export ${read.variable} && echo`;
}

/** The sentence a document puts before its prompt blocks. */
export const READ_ALONE_NOTE = [
  'Paste each prompt line below alone, press Enter, then type or paste the value (nothing is',
  'echoed) and press Enter again: pasted together with other commands, `read` would take the',
  'next pasted line for the value.',
].join('\n');

/** `reads` with one entry per variable, in their first order. */
export function uniqueReads(reads: readonly ShellRead[]): ShellRead[] {
  const seen = new Set<string>();
  const out: ShellRead[] = [];
  for (const read of reads) {
    if (seen.has(read.variable)) continue;
    seen.add(read.variable);
    out.push(read);
  }
  return out;
}

/**
 * How long each kind of wait of the generated documents waits at most, in seconds. A bound is the
 * longest a healthy cluster takes plus a margin: past it something is wrong, and the operator
 * learns it from the wait's message rather than from a terminal that never returns.
 */
export const WAIT_SECONDS = {
  /** `talosctl bootstrap` retried: the first control plane installs Talos, reboots, starts its runtime and syncs its clock. */
  bootstrap: 30 * 60,
  /** The API server answers after the bootstrap: etcd and the control-plane static pods pulled and started. */
  apiServer: 20 * 60,
  /** Disaster recovery: etcd bootstrapped from the snapshot, on a node that first reinstalls Talos and reboots. */
  restore: 30 * 60,
  /** Added to a restore verification's own window (the Job's `activeDeadlineSeconds`): its pod's scheduling, image pull and clean-up. */
  restoreVerifyMargin: 10 * 60,
  /** Argo CD's application controller gone after its scale to 0 (its graceful termination, 30 s, and a slow node). */
  argocdStop: 5 * 60,
  /** SPIRE registers every Cilium identity again after its agents and cilium-operator restarted. */
  spire: 10 * 60,
  /** Longhorn rebuilds every degraded replica after a node's reboot (a full copy of the largest volume over the node network). */
  replicaRebuild: 60 * 60,
  /** Longhorn detaches every volume once the pods using them stopped (their graceful termination, the kubelet's unmount). */
  detach: 15 * 60,
  /** Longhorn moves every replica off a node being retired (a copy of each of its volumes). */
  replicaMove: 120 * 60,
  /** A node's disks appear: Talos formats its user volumes, Longhorn reports and schedules its disks. */
  disks: 10 * 60,
  /** The secrets operator syncs a BitwardenSecret again (it syncs on change and every few minutes). */
  secretSync: 5 * 60,
  /** A node's BGP sessions established once the routers accept them. */
  bgp: 10 * 60,
  /** The kubelet mounts a Secret's new value in a running pod (its sync period, about a minute, and the operator's sync). */
  mountedSecret: 5 * 60,
  /** Every kubelet serves a certificate of the new Kubernetes CA once the restarted approver approved its request (after a CA rotation). */
  kubeletServing: 10 * 60,
} as const;

/** A wait of a generated document: `boundedWait` renders it. */
export interface BoundedWait {
  /** A shell command list that succeeds once what is waited for happened. */
  readonly condition: string;
  /** How long to wait at most (one of `WAIT_SECONDS`, or derived from one). */
  readonly seconds: number;
  /** Seconds between tries. */
  readonly interval: number;
  /**
   * What did not happen and what to look at, printed (after "timed out after N minutes: ") on
   * stderr when the deadline passes.
   */
  readonly message: string;
  /** Commands run after each failed try, before the sleep (print the error of the try). */
  readonly each?: string;
  /** Commands run when the deadline passed, after the message (print what the wait saw). */
  readonly diagnose?: string;
}

function duration(seconds: number): string {
  if (seconds % 60 !== 0) return `${seconds} seconds`;
  const minutes = seconds / 60;
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

const DEADLINE_OPEN = '( deadline=$(($(date +%s) + ';
const DEADLINE_TEST = '; do if [ "$(date +%s)" -ge "$deadline" ]; then ';

/**
 * One line that waits until `condition` succeeds, trying every `interval` seconds, and fails
 * (status 1, with the message on stderr) once `seconds` passed:
 * `( deadline=$(($(date +%s) + 600)); until <condition>; do if [ "$(date +%s)" -ge "$deadline" ];
 * then echo '…' >&2; exit 1; fi; sleep 10; done )`. The subshell makes `exit` end the wait only
 * (never the operator's terminal) and lets the line be chained with `&&`; what the condition
 * assigns stays inside it.
 */
export function boundedWait(wait: BoundedWait): string {
  if (!Number.isInteger(wait.seconds) || wait.seconds <= 0)
    throw new Error(`not a wait bound in seconds: ${wait.seconds}`);
  if (!Number.isInteger(wait.interval) || wait.interval <= 0 || wait.interval >= wait.seconds)
    throw new Error(`not a wait interval in seconds: ${wait.interval}`);
  const message = shellQuote(`timed out after ${duration(wait.seconds)}: ${wait.message}`);
  const diagnose = wait.diagnose === undefined ? '' : ` ${wait.diagnose};`;
  const each = wait.each === undefined ? '' : ` ${wait.each};`;
  return `${DEADLINE_OPEN}${wait.seconds})); until ${wait.condition}${DEADLINE_TEST}echo ${message} >&2;${diagnose} exit 1; fi;${each} sleep ${wait.interval}; done )`;
}

/** Where a `boundedWait` stands in a line (`start` to `end`, exclusive), and what it waits for. */
function locateBoundedWait(
  line: string,
):
  | { start: number; end: number; condition: string; seconds: number; interval: number }
  | undefined {
  const start = line.indexOf(DEADLINE_OPEN);
  if (start < 0) return undefined;
  const rest = line.slice(start + DEADLINE_OPEN.length);
  const head = /^(\d+)\)\); until /.exec(rest);
  const test = rest.indexOf(DEADLINE_TEST);
  if (head === null || test < 0) return undefined;
  const tail = /; sleep (\d+); done \)/.exec(rest.slice(test));
  if (tail === null) return undefined;
  return {
    start,
    end: start + DEADLINE_OPEN.length + test + tail.index + tail[0].length,
    condition: rest.slice(head[0].length, test),
    seconds: Number(head[1]),
    interval: Number(tail[1]),
  };
}

/** A `boundedWait` line read back: its condition and bounds; undefined for any other line. */
export function parseBoundedWait(
  line: string,
): { condition: string; seconds: number; interval: number } | undefined {
  const wait = locateBoundedWait(line);
  return wait === undefined
    ? undefined
    : { condition: wait.condition, seconds: wait.seconds, interval: wait.interval };
}

/**
 * `line` with its `boundedWait` replaced by `render(wait)`, what is around it kept; the line
 * as it is when it has none.
 */
export function replaceBoundedWait(
  line: string,
  render: (wait: { condition: string; seconds: number; interval: number }) => string,
): string {
  const wait = locateBoundedWait(line);
  return wait === undefined
    ? line
    : `${line.slice(0, wait.start)}${render(wait)}${line.slice(wait.end)}`;
}

/** A line of a document's shell block, with its 1-based line number in the document. */
export interface ShellLine {
  readonly line: number;
  readonly text: string;
}

/**
 * The ```sh blocks of a Markdown document (indented ones in list items too), each as its lines.
 */
export function shellBlocks(markdown: string): ShellLine[][] {
  const blocks: ShellLine[][] = [];
  let current: ShellLine[] | undefined;
  markdown.split('\n').forEach((text, index) => {
    const fence = text.trim();
    if (current === undefined) {
      if (fence === '```sh') current = [];
    } else if (fence === '```') {
      blocks.push(current);
      current = undefined;
    } else current.push({ line: index + 1, text });
  });
  return blocks;
}

/**
 * The lines of a block that hold a `#` comment: a word that starts with `#` outside quotes (at a
 * line's start, after a blank, or after an operator `;`, `&`, `|`, `(`, `)`), as the shell's
 * lexer starts a comment; not `#` inside a word (`a#b`, `${#x}`, `$#`, `s#a#b#`), nor inside
 * single or double quotes, nor after a backslash. Quotes carry over from one line to the next.
 */
export function commentLines(block: readonly ShellLine[]): ShellLine[] {
  const found: ShellLine[] = [];
  if (!block.some((entry) => entry.text.includes('#'))) return found;
  let quote: "'" | '"' | undefined;
  for (const entry of block) {
    const text = entry.text;
    for (let at = 0; at < text.length; at++) {
      const character = text[at] as string;
      if (quote === "'") {
        if (character === "'") quote = undefined;
      } else if (quote === '"') {
        if (character === '\\') at++;
        else if (character === '"') quote = undefined;
      } else if (character === '\\') {
        at++;
      } else if (character === "'" || character === '"') {
        quote = character;
      } else if (character === '#' && (at === 0 || /[\s;&|()]/.test(text[at - 1] as string))) {
        found.push(entry);
        break;
      }
    }
  }
  return found;
}

/**
 * Whether a line runs `read` on the terminal: `read` as a command (at the line's start, after
 * `&&`, `||`, `;`, `(`, `{`, `then`, `do`), not fed by a pipe (`… | read`, `… | while read`) or
 * a loop's input (`while read`).
 */
export function readsTerminal(text: string): boolean {
  for (const match of text.matchAll(
    /(^|&&|\|\||\||;|\(|\{|\bthen\b|\bdo\b)\s*((?:while|until)\s+)?(?:IFS=\S*\s+)?read\s/g,
  )) {
    if (match[1] === '|' || match[2] !== undefined) continue;
    return true;
  }
  return false;
}

/**
 * The first line of a block that reads from the terminal and is followed by another command
 * line in the same block, or undefined: pasted, that line would be read as the value. Lines
 * that continue its command list (the line before ends with `&&`, `||`, `|` or `\`) are not
 * after it: the shell reads the whole list before it runs any of it.
 */
export function readNotLast(block: readonly ShellLine[]): ShellLine | undefined {
  for (let at = 0; at < block.length; at++) {
    if (terminalReader((block[at] as ShellLine).text) === undefined) continue;
    let end = at;
    while (end < block.length - 1 && continuesOnNextLine((block[end] as ShellLine).text)) end++;
    if (block.slice(end + 1).some((entry) => entry.text.trim() !== '')) return block[at];
  }
  return undefined;
}

/**
 * A `:` command whose words are all guards (`"${VAR:?message}"`, core `requireVariable`), at the
 * end of a line: what a line holding one ends with.
 */
const GUARD_AT_END = /(?:^|&&|\|\||;)\s*:(?:\s+"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}"]*\}")+\s*$/;

/**
 * The lines of a block that end with a guard (`: "${VAR:?message}"`) and are followed by another
 * command line without chaining it with `&&`. In an interactive shell a failed guard prints its
 * message and aborts its own line (and a list that line continues with a trailing `&&`) only:
 * bash and zsh then run the next pasted line, which the guard was there to stop.
 */
export function unchainedGuards(block: readonly ShellLine[]): ShellLine[] {
  const lastCommand = block.findLastIndex((entry) => entry.text.trim() !== '');
  return block.filter((entry, index) => index < lastCommand && GUARD_AT_END.test(entry.text));
}

/** Whether a line's command list goes on on the next line: it ends with `&&`, `||`, `|` or `\`. */
function continuesOnNextLine(text: string): boolean {
  return /(?:&&|\|\|?|\\)\s*$/.test(text);
}

/** A command that reads the operator's terminal: a prompt, or a command that takes it over. */
export type TerminalReader =
  | 'read'
  | 'kubectl exec -i'
  | 'kubectl attach -i'
  | 'kubectl run -i'
  | 'kubectl edit'
  | 'talosctl edit'
  | 'talosctl dashboard'
  | 'talosctl kubeconfig'
  | 'talosctl config remove'
  | 'kubectl delete -i'
  | (typeof STREAMING_READERS)[number]
  | 'git commit'
  | GitRemoteCommand
  | 'age --decrypt'
  | 'age --passphrase'
  | 'argocd login'
  | 'argocd account update-password';

/**
 * The readers that stream until the operator interrupts them (`runsUntilInterrupted`): the lines
 * pasted after them never run.
 */
export const STREAMING_READERS = [
  'kubectl port-forward',
  'kubectl proxy',
  'kubectl logs -f',
  'kubectl get -w',
  'kubectl events -w',
  'talosctl logs -f',
  'talosctl dmesg -f',
] as const;

/** talosctl's global flags that take the next word as their value. */
const TALOSCTL_VALUE_FLAGS = new Set([
  '-n',
  '--nodes',
  '-e',
  '--endpoints',
  '--talosconfig',
  '--context',
  '--cluster',
]);

/** git's options before its command that take the next word as their value. */
const GIT_VALUE_FLAGS = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace']);

/** `git commit`'s options that take the next word as their value. */
const GIT_COMMIT_VALUE_FLAGS = new Set([
  '-m',
  '--message',
  '-F',
  '--file',
  '-C',
  '--reuse-message',
  '-c',
  '--reedit-message',
  '-t',
  '--template',
  '--author',
  '--date',
  '--cleanup',
  '--trailer',
  '--fixup',
  '--squash',
  '--pathspec-from-file',
]);

/** git's commands that talk to a remote. */
const GIT_REMOTE_COMMANDS = ['push', 'fetch', 'pull', 'clone', 'ls-remote'] as const;
type GitRemoteCommand = `git ${(typeof GIT_REMOTE_COMMANDS)[number]}`;

/**
 * The readers that ask only at times, on /dev/tty whatever their stdin: git's remote commands (a
 * missing credential, an unknown host key) and age (a protected key).
 */
export const ASKING_READERS: ReadonlySet<TerminalReader> = new Set<TerminalReader>([
  ...GIT_REMOTE_COMMANDS.map((command): GitRemoteCommand => `git ${command}`),
  'age --decrypt',
  'age --passphrase',
]);

/**
 * The git command (its words after `git`) if it talks to a remote: `git push`, `fetch`, `pull`,
 * `clone`, `ls-remote`. Any of them can ask on the terminal: git for an HTTPS remote's username
 * and password when no credential helper answers (`git_terminal_prompt`, which opens /dev/tty
 * itself), ssh for an unknown host key's confirmation or a key's passphrase (also on /dev/tty).
 * Neither a pipe nor a redirection of its stdin keeps them from the terminal.
 */
function gitRemoteCommand(words: readonly string[]): GitRemoteCommand | undefined {
  const command = words[gitCommandIndex(words)];
  const remote = GIT_REMOTE_COMMANDS.find((name) => name === command);
  return remote === undefined ? undefined : `git ${remote}`;
}

/** The index of git's command in its words (after git's own options). */
function gitCommandIndex(words: readonly string[]): number {
  let index = 0;
  for (; index < words.length && (words[index] as string).startsWith('-'); index++) {
    if (GIT_VALUE_FLAGS.has(words[index] as string)) index++;
  }
  return index;
}

/**
 * Whether a git command (its words after `git`) is a `git commit` that opens the editor for its
 * message: without `-m`/`--message`, `-F`/`--file`, `-C`/`--reuse-message`, `--fixup`,
 * `--no-edit` or `--dry-run` (a short group ending in `m`, `F` or `C`, `-am`, gives one), or
 * with `-e`/`--edit`, `-c`/`--reedit-message` or `-t`/`--template`, which open it anyway.
 */
function gitCommitEdits(words: readonly string[]): boolean {
  const index = gitCommandIndex(words);
  if (words[index] !== 'commit') return false;
  const { flags } = commandArguments(words.slice(index + 1), GIT_COMMIT_VALUE_FLAGS);
  const named = (...names: string[]) => flags.some(({ flag }) => names.includes(flag));
  const group = (letters: RegExp) =>
    flags.some(({ flag }) => /^-[A-Za-z]+$/.test(flag) && letters.test(flag.slice(1)));
  if (named('-e', '--edit', '-c', '--reedit-message', '-t', '--template') || group(/e/))
    return true;
  return !(
    named('--message', '--file', '--reuse-message', '--fixup', '--no-edit', '--dry-run') ||
    group(/[mFC]/)
  );
}

/** The Argo CD CLI, a tool the runbooks run as they run kubectl (not the component). */
const ARGOCD_CLI = 'argocd';

/** argocd's flags (global, `login`'s, `account update-password`'s) that take the next word as their value. */
const ARGOCD_VALUE_FLAGS = new Set([
  '--server',
  '--auth-token',
  '--config',
  '--context',
  '--grpc-web-root-path',
  '-H',
  '--header',
  '--kube-context',
  '--port-forward-namespace',
  '--client-crt',
  '--client-crt-key',
  '--server-crt',
  '--loglevel',
  '--logformat',
  '--http-retry-max',
  '--username',
  '--password',
  '--name',
  '--sso-port',
  '--sso-launch-browser',
  '--account',
  '--current-password',
  '--new-password',
]);

/**
 * What an argocd command (its words after `argocd`) prompts for on the terminal, if anything:
 * `argocd login` without `--sso` asks for the username and password it lacks
 * (`cli.PromptCredentials`, cmd/argocd/commands/login.go), `argocd account update-password` for
 * the current password (a local account's session) and the new one twice unless both are
 * given (`term.ReadPassword`, `cli.ReadAndConfirmPassword`, account.go).
 */
function argocdPrompts(words: readonly string[]): TerminalReader | undefined {
  const { operands, flags } = commandArguments(words, ARGOCD_VALUE_FLAGS);
  const given = (name: string) => flags.some(({ flag, value }) => flag === name && value);
  if (operands[0] === 'login') {
    const sso = flags.some(({ flag, value }) => flag === '--sso' && value !== 'false');
    return sso || (given('--username') && given('--password')) ? undefined : 'argocd login';
  }
  if (operands[0] === 'account' && operands[1] === 'update-password')
    return given('--current-password') && given('--new-password')
      ? undefined
      : 'argocd account update-password';
  return undefined;
}

/**
 * What on a line reads the terminal: a prompt `read` (`readsTerminal`), or a command that takes
 * the terminal's input over: `kubectl exec`, `attach` or `run` with `-i`/`--stdin` (`-it` too),
 * `kubectl edit` and `talosctl edit` (an editor), `talosctl dashboard`, a question on stdin
 * (`talosctl kubeconfig` merging without `--force`, `talosctl config remove` without
 * `--noconfirm`, `kubectl delete -i`), a command that streams until Ctrl-C
 * (`runsUntilInterrupted`: a port-forward, a followed log, a watch), a `git commit` that opens
 * the editor for its message (`gitCommitEdits`), a git command that talks to a remote and may
 * ask for credentials or a host key (`gitRemoteCommand`), an age decryption that may ask for a
 * passphrase (`agePrompts`), an argocd login or password change that prompts (`argocdPrompts`).
 * Not one whose input is a pipe (`… | kubectl exec -i …`) or a redirection (`< file`), except
 * git's remote commands and age: git, ssh and age open /dev/tty themselves.
 */
export function terminalReader(text: string): TerminalReader | undefined {
  if (readsTerminal(text)) return 'read';
  for (const { tool, at, words } of commandsAt(text, TERMINAL_TOOLS)) {
    if (tool === 'git') {
      const remote = gitRemoteCommand(words);
      if (remote !== undefined) return remote;
    }
    if (tool === 'kubectl' || tool === 'talosctl') {
      const endless = runsUntilInterrupted(tool, words);
      if (endless !== undefined) return endless;
    }
    if (tool === 'age') {
      const asks = agePrompts(words);
      if (asks !== undefined) return asks;
      continue;
    }
    if (fedByPipe(text, at)) continue;
    if (words.some((word) => word.startsWith('<') || word.startsWith('0<'))) continue;
    if (tool === 'git') {
      if (gitCommitEdits(words)) return 'git commit';
      continue;
    }
    if (tool === ARGOCD_CLI) {
      const prompts = argocdPrompts(words);
      if (prompts !== undefined) return prompts;
      continue;
    }
    const { operands, flags } = commandArguments(
      words,
      tool === 'kubectl' ? KUBECTL_VALUE_FLAGS : TALOSCTL_VALUE_FLAGS,
    );
    // --stdin, or a group of short options holding i (-i, -it, -ti)
    const stdin = flags.some(
      ({ flag, value }) =>
        (flag === '--stdin' || /^-[A-Za-z]*i[A-Za-z]*$/.test(flag)) && value !== 'false',
    );
    const verb = operands[0];
    const set = (...names: string[]) => flagSet(flags, names);
    if (tool === 'talosctl' && (verb === 'edit' || verb === 'dashboard')) return `talosctl ${verb}`;
    // talosctl kubeconfig merges into an existing file by default and asks, per context that
    // already exists, whether to rename or overwrite it (askOverwriteOrRename reads stdin) unless
    // --force; `-` (stdout) or --merge=false never merge. talosctl config remove asks per context
    // (helpers.Confirm) unless --noconfirm/-y or --dry-run.
    if (
      tool === 'talosctl' &&
      verb === 'kubeconfig' &&
      !set('--force', '-f') &&
      !flags.some(
        ({ flag, value }) => (flag === '--merge' || flag === '-m') && value === 'false',
      ) &&
      !flags.some(({ flag }) => flag === '-')
    )
      return 'talosctl kubeconfig';
    if (
      tool === 'talosctl' &&
      verb === 'config' &&
      operands[1] === 'remove' &&
      !set('--noconfirm', '-y', '--dry-run')
    )
      return 'talosctl config remove';
    if (tool === 'kubectl' && verb === 'delete' && (stdin || set('--interactive')))
      return 'kubectl delete -i';
    if (tool === 'kubectl' && verb === 'edit') return 'kubectl edit';
    if (tool === 'kubectl' && stdin && (verb === 'exec' || verb === 'attach' || verb === 'run'))
      return `kubectl ${verb} -i`;
  }
  return undefined;
}

/**
 * A kubectl or talosctl command (its words after the tool) that streams until the operator stops
 * it with Ctrl-C: `kubectl port-forward`, `kubectl proxy`, `kubectl logs -f`, `kubectl get -w`
 * (`--watch`, `--watch-only`), `kubectl events -w`, `talosctl logs -f`, `talosctl dmesg -f`.
 * Its stdin does not matter: it never ends by itself, and Ctrl-C also discards what is left of
 * the paste (the terminal flushes its input on an interrupt).
 */
function runsUntilInterrupted(
  tool: 'kubectl' | 'talosctl',
  words: readonly string[],
): TerminalReader | undefined {
  const { operands, flags } = commandArguments(
    words,
    tool === 'kubectl' ? KUBECTL_VALUE_FLAGS : TALOSCTL_VALUE_FLAGS,
  );
  const set = (...names: string[]) => flagSet(flags, names);
  const verb = operands[0];
  if (tool === 'kubectl') {
    if (verb === 'port-forward' || verb === 'proxy') return `kubectl ${verb}`;
    if (verb === 'logs' && set('-f', '--follow')) return 'kubectl logs -f';
    if (verb === 'get' && set('-w', '--watch', '--watch-only')) return 'kubectl get -w';
    if (verb === 'events' && set('-w', '--watch')) return 'kubectl events -w';
    return undefined;
  }
  if ((verb === 'logs' || verb === 'dmesg') && set('-f', '--follow')) return `talosctl ${verb} -f`;
  return undefined;
}

/**
 * What an age command (its words after `age`) may ask on the terminal: a decryption asks for the
 * passphrase of a passphrase-protected identity file or SSH key (`-i`), or of a
 * passphrase-encrypted file (no `-i`); `-p` asks for the passphrase to encrypt with
 * (cmd/age/parse.go, age.go: `term.ReadSecret`, which opens /dev/tty whatever stdin is).
 */
function agePrompts(words: readonly string[]): TerminalReader | undefined {
  for (const word of words) {
    if (word === '--') break;
    if (word === '-d' || word === '--decrypt') return 'age --decrypt';
    if (word === '-p' || word === '--passphrase') return 'age --passphrase';
  }
  return undefined;
}

/** Whether one of `names` is among `flags` (read by `commandArguments`), not set to `false`. */
function flagSet(
  flags: readonly { flag: string; value: string | undefined }[],
  names: readonly string[],
): boolean {
  return flags.some(({ flag, value }) => names.includes(flag) && value !== 'false');
}

/** Whether the command at `at` reads a pipe: a single `|` (not `||`) before it. */
function fedByPipe(text: string, at: number): boolean {
  let before = at;
  while (before > 0 && (text[before - 1] === ' ' || text[before - 1] === '\t')) before--;
  return text[before - 1] === '|' && text[before - 2] !== '|';
}

/** A block's lines joined with newlines, and the document line of an offset into that text. */
export interface JoinedBlock {
  readonly text: string;
  readonly lineAt: (index: number) => number;
}

// Several checks read each block joined: joined once per block.
const JOINED = new WeakMap<readonly ShellLine[], JoinedBlock>();

/** A block's lines joined with newlines, and the document line of an offset into that text. */
export function joinedBlock(block: readonly ShellLine[]): JoinedBlock {
  const known = JOINED.get(block);
  if (known !== undefined) return known;
  const starts: number[] = [];
  let offset = 0;
  for (const entry of block) {
    starts.push(offset);
    offset += entry.text.length + 1;
  }
  const joined: JoinedBlock = {
    text: block.map((entry) => entry.text).join('\n'),
    lineAt: (index) => {
      let found = 0;
      for (let i = 0; i < starts.length && (starts[i] as number) <= index; i++) found = i;
      return block[found]?.line ?? 0;
    },
  };
  JOINED.set(block, joined);
  return joined;
}

const LOOP_WORD = /(^|[;&|({]|\bthen\b|\bdo\b|\belse\b)\s*(until|while|for|done)\b/gm;
/** A test against a deadline of `date +%s`, or a counter against a number. */
const BOUND_TESTS = [
  /\[\s+"?\$\(date \+%s\)"?\s+-(?:ge|gt|lt|le)\s+"?\$\{?deadline\}?"?\s+\]/,
  /\[\s+"?\$(?:\(\(\s*)?\{?[A-Za-z_][A-Za-z0-9_]*\}?(?:\s*\+=\s*1\s*\)\))?"?\s+-(?:lt|le|gt|ge|eq)\s+\d+\s+\]/,
];

/** A wait loop of a block: an `until` or `while` loop whose text sleeps. */
export interface WaitLoop {
  /** The line the loop starts on. */
  readonly line: number;
  /** The loop's text, from its keyword to its `done`, lines joined with newlines. */
  readonly text: string;
  /** Whether a deadline or counter test bounds it. */
  readonly bounded: boolean;
}

/**
 * The `until`/`while` loops of a block that sleep, each with whether a deadline or counter test
 * (`[ "$(date +%s)" -ge "$deadline" ]`, `[ "$tries" -le 60 ]`) in its condition or body bounds
 * it. Loops are matched by their words at command positions (`for` loops nest but are bounded
 * by their list).
 */
export function waitLoops(block: readonly ShellLine[]): WaitLoop[] {
  const { text, lineAt } = joinedBlock(block);
  const open: { word: string; at: number }[] = [];
  const loops: WaitLoop[] = [];
  for (const match of text.matchAll(LOOP_WORD)) {
    const word = match[2] ?? '';
    const at = (match.index ?? 0) + match[0].length - word.length;
    if (word !== 'done') {
      open.push({ word, at });
      continue;
    }
    const loop = open.pop();
    if (loop === undefined || loop.word === 'for') continue;
    const body = text.slice(loop.at, at + word.length);
    if (!/\bsleep\b/.test(body)) continue;
    loops.push({
      line: lineAt(loop.at),
      text: body,
      bounded: BOUND_TESTS.some((test) => test.test(body)),
    });
  }
  return loops;
}

/** A command of a block that waits without end by default and sets no bound. */
export interface EndlessWait {
  /** The line the command starts on. */
  readonly line: number;
  /** The command, from `kubectl` or `curl` to the end of its simple command. */
  readonly text: string;
  /** What waits: kubectl's `rollout status`, `drain`, `delete` or `wait`, or `curl`. */
  readonly waits: 'rollout status' | 'drain' | 'delete' | 'wait' | 'curl';
}

/** kubectl's flags (global and of the commands read) that take the next word as their value. */
const KUBECTL_VALUE_FLAGS = new Set([
  '-n',
  '--namespace',
  '--context',
  '--cluster',
  '--kubeconfig',
  '--user',
  '-s',
  '--server',
  '--as',
  '--as-group',
  '--request-timeout',
  '-l',
  '--selector',
  '--field-selector',
  '--pod-selector',
  '-o',
  '--output',
  '-f',
  '--filename',
  '-k',
  '--kustomize',
  '--revision',
  '--grace-period',
  '--skip-wait-for-delete-timeout',
  '--chunk-size',
  '--timeout',
]);

/** The simple command starting at `at`: up to an unquoted `|`, `;`, `&`, `)` or line end. */
function simpleCommandAt(text: string, at: number): string {
  let end = at;
  let quote: "'" | '"' | undefined;
  for (; end < text.length; end++) {
    const character = text[end] as string;
    if (quote !== undefined) {
      if (character === '\\' && quote === '"') end++;
      else if (character === quote) quote = undefined;
    } else if (character === '\\') {
      end++;
    } else if (character === "'" || character === '"') {
      quote = character;
    } else if ('|;&)\n'.includes(character)) break;
  }
  return text.slice(at, end);
}

/**
 * Whether the word at `at` is a command: at the text's start or a line's, after an operator
 * (`;`, `&`, `|`, `(`, `` ` ``), a reserved word (`then`, `do`, …) or an assignment (`X=1 cmd`);
 * not an argument (`echo kubectl drain`).
 */
function atCommandPosition(text: string, at: number): boolean {
  let before = at;
  while (before > 0 && (text[before - 1] === ' ' || text[before - 1] === '\t')) before--;
  if (before === 0 || '\n;&|(`'.includes(text[before - 1] as string)) return true;
  let start = before;
  while (start > 0 && !/\s/.test(text[start - 1] as string)) start--;
  const word = text.slice(start, before);
  if (KEEP_COMMAND.has(word)) return true;
  return /^[A-Za-z_][A-Za-z0-9_]*=[^\s'"]*$/.test(word) && atCommandPosition(text, start);
}

/** A duration kubectl reads as zero (`0`, `0s`, `0m0s`), which for these commands means no end. */
const ZERO_DURATION = /^(0+(\.0*)?(ns|us|\u00b5s|ms|s|m|h)?)+$/;

/**
 * The commands of a block that wait until what they wait for happens, however long:
 * `kubectl rollout status` (its `--timeout` defaults to 0s, "zero means never"; `--watch=false`
 * does not wait) and `kubectl drain` (`--timeout` 0s, "zero means infinite", a
 * PodDisruptionBudget that never allows the eviction holds it for good) and `kubectl delete`
 * (it waits until the objects are gone, `--wait` defaults to true, and a zero `--timeout`, the
 * default, becomes a week: `pkg/cmd/delete/delete.go`, "if we requested to wait forever, set it
 * to a week"; a finalizer nothing removes, a pod on an unreachable node, an Application whose
 * resources Argo CD cannot delete, a CRD whose custom resources keep theirs, holds it) without a
 * positive `--timeout` (a delete with `--wait=false` or a `--dry-run` does not wait; a negative
 * `--timeout` is no bound: kubectl wait, "negative means wait for a week"); `curl` without a
 * non-zero `--max-time` (`curlWaits`). `kubectl wait` stops after 30 seconds by default and
 * `talosctl health` after 20 minutes: bounded.
 */
export function endlessWaits(block: readonly ShellLine[]): EndlessWait[] {
  const { text, lineAt } = joinedBlock(block);
  const found: EndlessWait[] = [];
  for (const { tool, at, command, words } of commandsAt(text, WAITING_TOOLS)) {
    const waits = tool === 'curl' ? curlWaits(words) : kubectlWaits(words);
    if (waits !== undefined) found.push({ line: lineAt(at), text: command.trim(), waits });
  }
  return found;
}

const WAITING_TOOLS = /(?:^|[\s;&|(`])(kubectl|curl)(?=[ \t])/g;
const TERMINAL_TOOLS = /(?:^|[\s;&|(`])(kubectl|talosctl|git|argocd|age)(?=[ \t])/g;

/** A command of a text: its tool, where it starts, its simple command and the words after the tool. */
interface CommandAt {
  readonly tool: string;
  readonly at: number;
  readonly command: string;
  readonly words: readonly string[];
}

/**
 * The commands of `text` that `tools` (a global expression, the tool in group 1) names, at command
 * positions. (`exec` on `tools` itself, from its start: `matchAll` would copy the expression on
 * every call, and this runs on every line of every runbook.)
 */
function commandsAt(text: string, tools: RegExp): CommandAt[] {
  const found: CommandAt[] = [];
  tools.lastIndex = 0;
  for (let match = tools.exec(text); match !== null; match = tools.exec(text)) {
    const tool = match[1] as string;
    const at = match.index + match[0].length - tool.length;
    if (!atCommandPosition(text, at)) continue;
    const command = simpleCommandAt(text, at);
    const words = command.replace(/\\\n/g, ' ').trim().split(/\s+/).slice(1);
    found.push({ tool, at, command, words });
  }
  return found;
}

/**
 * The words after a tool (kubectl, talosctl, argocd; git commit's after `commit`) read as their
 * flag parser does, up to `--`: the operands, and each flag with its value (after `=`, or the
 * next word for a flag of `valueFlags`).
 */
function commandArguments(
  words: readonly string[],
  valueFlags: ReadonlySet<string>,
): { operands: string[]; flags: { flag: string; value: string | undefined }[] } {
  const operands: string[] = [];
  const flags: { flag: string; value: string | undefined }[] = [];
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string;
    if (word === '--') break;
    if (!word.startsWith('-')) {
      operands.push(word);
      continue;
    }
    const equals = word.indexOf('=');
    const flag = equals === -1 ? word : word.slice(0, equals);
    const value =
      equals === -1 ? (valueFlags.has(flag) ? words[++index] : undefined) : word.slice(equals + 1);
    flags.push({ flag, value });
  }
  return { operands, flags };
}

/** What a kubectl command (its words after `kubectl`) waits for without end, if anything. */
function kubectlWaits(words: readonly string[]): EndlessWait['waits'] | undefined {
  const { operands, flags } = commandArguments(words, KUBECTL_VALUE_FLAGS);
  const flagValue = (name: string) => flags.findLast(({ flag }) => flag === name)?.value;
  const timeout = flagValue('--timeout');
  const dryRun =
    flags.some(({ flag }) => flag === '--dry-run') && flagValue('--dry-run') !== 'none';
  const watch = !flags.some(
    ({ flag, value }) => (flag === '-w' || flag === '--watch') && value === 'false',
  );
  const waits =
    operands[0] === 'drain'
      ? 'drain'
      : operands[0] === 'rollout' && operands[1] === 'status' && watch
        ? 'rollout status'
        : operands[0] === 'delete' && flagValue('--wait') !== 'false' && !dryRun
          ? 'delete'
          : undefined;
  const bound = timeout?.replace(/^["']|["']$/g, '');
  // `kubectl wait` is bounded by its default (30s) and by zero (it checks once); only a
  // negative --timeout ("negative means wait for a week") makes it wait without end.
  if (operands[0] === 'wait') return bound?.startsWith('-') ? 'wait' : undefined;
  return bound !== undefined && bound !== '' && !ZERO_DURATION.test(bound) && !bound.startsWith('-')
    ? undefined
    : waits;
}

/**
 * Whether a curl command (its words after `curl`) waits without end: without a non-zero
 * `--max-time` (`-m`, alone or last of a group of short options, its value attached or the next
 * word), curl waits for a server that accepted the connection and never answers as long as it
 * keeps the connection (its default is no limit; `--connect-timeout` bounds only connecting).
 */
function curlWaits(words: readonly string[]): 'curl' | undefined {
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string;
    const short = /^-[A-Za-z]*m(.*)$/.exec(word);
    const value =
      word === '--max-time'
        ? words[index + 1]
        : short !== null && !word.startsWith('--')
          ? short[1] || words[index + 1]
          : undefined;
    const seconds = value?.replace(/^["']|["']$/g, '');
    if (seconds !== undefined && /^\d*\.?\d+$/.test(seconds) && Number(seconds) > 0)
      return undefined;
  }
  return 'curl';
}

/** What zsh, with its default options, does to an unquoted word that bash passes on as written. */
export type ZshExpansion = 'glob' | 'equals' | 'tilde';

export interface ZshWord {
  /** The block line the word starts on. */
  readonly line: number;
  /** The word as written (quotes included). */
  readonly word: string;
  readonly expansion: ZshExpansion;
  /** The character that triggers it: `*`, `?`, `[`, `=` or `~`. */
  readonly character: string;
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const DECLARATIONS = new Set([
  'export',
  'local',
  'typeset',
  'declare',
  'readonly',
  'integer',
  'float',
]);
/** Reserved words after which the next word is a command again. */
const KEEP_COMMAND = new Set([
  'if',
  'then',
  'else',
  'elif',
  'do',
  'while',
  'until',
  '!',
  '{',
  'time',
]);
const WORD_END = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);
// Runs of characters the lexer has nothing to do with, skipped in one step (sticky expressions):
// in a word, in double quotes, in a parameter expansion; blanks between words.
const WORD_QUIET = /[^\s;&|()<>\\'"`$*?[]+/y;
const DOUBLE_QUIET = /[^"\\$`]+/y;
const PARAMETER_QUIET = /[^\\'"`${}*?[]+/y;
const BLANKS = /[ \t]+/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
/** A parameter expansion's flags, name and subscript, after `${`. */
const PARAMETER_HEAD =
  /[#!^=~]?(?:\([^)]*\))?(?:[A-Za-z_][A-Za-z0-9_]*|[?*@#$!0-9-])(?:\[[^\]]*\])?/y;
const SPECIAL_PARAMETERS = new Set([
  '?',
  '*',
  '@',
  '#',
  '$',
  '!',
  '-',
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
]);

/**
 * The words of a block that zsh, the login shell of macOS, expands where bash leaves them be, each
 * a failed command when pasted into zsh: an unquoted `*`, `?` or `[` in a word is a file pattern
 * (NOMATCH is on by default: "no matches found", or "bad pattern" for a `[` without its `]`; bash
 * passes an unmatched pattern on as written), a word starting with `=` is the path of the command
 * it names (EQUALS: `==` is "= not found"), and `~name` is a named directory ("no such user or
 * named directory"). Not a pattern: quoted text, `\*`, `$*`, `$?`, a `[` word of its own (the
 * test command), the words of `[[ … ]]`, `(( … ))`, `$(( … ))` and of a `case` pattern, the value
 * of an assignment (`X=*`, `export X=*`: zsh's declarations are reserved words), and the
 * pattern of a parameter expansion (`${CLAIM%%/*}`); the default word of `${x:-*}` is one, as
 * zsh globs it. Command substitutions (`$(…)`, backquotes) are read as commands, inside double
 * quotes too. A lexer for the blocks the project writes: no here-documents, no extended globs.
 */
export function zshExpandedWords(block: readonly ShellLine[]): ZshWord[] {
  const { text, lineAt } = joinedBlock(block);
  const found: ZshWord[] = [];
  let at = 0;
  let parameterHit = '';
  const peek = (ahead = 0): string => text[at + ahead] ?? '';

  /** Past a single-quoted string (at its opening quote); `$'…'` knows backslash escapes. */
  const skipSingle = (escapes: boolean): void => {
    at++;
    if (!escapes) {
      const close = text.indexOf("'", at);
      at = close < 0 ? text.length + 1 : close + 1;
      return;
    }
    while (at < text.length && text[at] !== "'") at += text[at] === '\\' ? 2 : 1;
    at++;
  };

  /** Moves `at` past what `plain` (a sticky expression) matches there: runs of quiet characters. */
  const skip = (plain: RegExp): void => {
    plain.lastIndex = at;
    if (plain.test(text)) at = plain.lastIndex;
  };

  /** Past `$((…))` or `((…))` (at its first parenthesis): arithmetic, no pattern. */
  const skipArithmetic = (): void => {
    let depth = 0;
    while (at < text.length) {
      const character = text[at] as string;
      if (character === '(') depth++;
      else if (character === ')' && --depth === 0) {
        at++;
        return;
      }
      at++;
    }
  };

  /** Past a double-quoted string (at its opening quote): only substitutions are read. */
  const readDouble = (): void => {
    at++;
    while (at < text.length && text[at] !== '"') {
      skip(DOUBLE_QUIET);
      if (at >= text.length || text[at] === '"') break;
      if (text[at] === '\\') at += 2;
      else if (text[at] === '$' && substitution(false)) continue;
      else if (text[at] === '`') {
        at++;
        commands('`');
      } else at++;
    }
    at++;
  };

  /**
   * At a `$`: reads a substitution or parameter and returns true, or returns false for a lone
   * `$`. The first glob character of an unquoted `${x:-word}` default word is left in
   * `parameterHit` ('' for none).
   */
  const substitution = (unquoted: boolean): boolean => {
    const next = peek(1);
    if (next === '{') {
      at += 2;
      parameterHit = parameter(unquoted);
      return true;
    }
    parameterHit = '';
    if (next === '(') {
      if (peek(2) === '(') {
        at++;
        skipArithmetic();
      } else {
        at += 2;
        commands(')');
        parameterHit = '';
      }
      return true;
    }
    if (next === "'") {
      at++;
      skipSingle(true);
      return true;
    }
    if (SPECIAL_PARAMETERS.has(next)) {
      at += 2;
      return true;
    }
    NAME.lastIndex = at + 1;
    if (NAME.test(text)) {
      at = NAME.lastIndex;
      return true;
    }
    return false;
  };

  /** After `${`: past its closing `}`; returns the first glob character of its word, or ''. */
  const parameter = (unquoted: boolean): string => {
    let own = '';
    PARAMETER_HEAD.lastIndex = at;
    if (PARAMETER_HEAD.test(text)) at = PARAMETER_HEAD.lastIndex;
    // `${x:-word}`, `${x-word}`, `+`, `=`, `?`: a word, which zsh globs unquoted; `#`, `%`, `/`,
    // `:offset` and the rest take patterns or numbers
    const operator = /^:?[-+=?]/.exec(text.slice(at, at + 2));
    const word = operator !== null && unquoted;
    if (operator !== null) at += operator[0].length;
    let depth = 1;
    while (at < text.length) {
      skip(PARAMETER_QUIET);
      const character = text[at] as string;
      if (character === undefined) break;
      if (character === '\\') at += 2;
      else if (character === "'") skipSingle(false);
      else if (character === '"') readDouble();
      else if (character === '`') {
        at++;
        commands('`');
      } else if (character === '$' && substitution(unquoted && word)) {
        if (own === '') own = parameterHit;
      } else if (character === '{') {
        depth++;
        at++;
      } else if (character === '}') {
        at++;
        if (--depth === 0) return own;
      } else {
        if (word && own === '' && (character === '*' || character === '?' || character === '[')) {
          own = character;
        }
        at++;
      }
    }
    return own;
  };

  /** Reads one word (at its first character); returns its first glob character, or ''. */
  const word = (): string => {
    const start = at;
    let own = '';
    while (at < text.length && !WORD_END.has(text[at] as string)) {
      skip(WORD_QUIET);
      if (at >= text.length || WORD_END.has(text[at] as string)) break;
      const character = text[at] as string;
      if (character === '\\') at += 2;
      else if (character === "'") skipSingle(false);
      else if (character === '"') readDouble();
      else if (character === '`') {
        at++;
        commands('`');
      } else if (character === '$') {
        if (!substitution(true)) at++;
        else if (own === '') own = parameterHit;
      } else {
        if (own === '' && (character === '*' || character === '?')) own = character;
        else if (
          own === '' &&
          character === '[' &&
          !(at === start && WORD_END.has(peek(1) || ' '))
        ) {
          own = character;
        }
        at++;
      }
    }
    return own;
  };

  /**
   * Reads commands up to `end` (`)` of `$(`, a backquote, or the text's end), past it.
   */
  const commands = (end: ')' | '`' | undefined): void => {
    let command = true;
    let declaration = false;
    let exempt: 'condition' | undefined;
    let caseState: 'subject' | 'in' | 'pattern' | 'body' | undefined;
    let depth = 0;
    const separate = () => {
      command = true;
      declaration = false;
    };
    while (at < text.length) {
      const character = text[at] as string;
      if (character === '\\' && peek(1) === '\n') {
        at += 2;
        continue;
      }
      if (character === ' ' || character === '\t') {
        at++;
        skip(BLANKS);
        continue;
      }
      if (end === '`' && character === '`') {
        at++;
        return;
      }
      if (character === ')') {
        at++;
        if (caseState === 'pattern') {
          caseState = 'body';
          separate();
        } else if (depth > 0) depth--;
        else if (end === ')') return;
        continue;
      }
      if (character === '\n' || character === ';' || character === '&' || character === '|') {
        if (character === ';' && peek(1) === ';' && caseState === 'body') {
          caseState = 'pattern';
          at += 2;
        } else at++;
        if (caseState !== 'pattern') separate();
        continue;
      }
      if (character === '(') {
        if (command && peek(1) === '(') skipArithmetic();
        else {
          at++;
          if (caseState !== 'pattern') {
            depth++;
            separate();
          }
        }
        continue;
      }
      if (character === '<' || character === '>') {
        at++;
        while (peek() === '<' || peek() === '>' || peek() === '&' || peek() === '|') at++;
        continue;
      }
      if (character === '#') {
        const newline = text.indexOf('\n', at);
        at = newline < 0 ? text.length : newline;
        continue;
      }
      const start = at;
      const hit = word();
      if (at === start) {
        at++;
        continue;
      }
      // An argument with nothing zsh expands changes nothing: not read further
      const first = text[start];
      if (
        !command &&
        !declaration &&
        exempt === undefined &&
        caseState === undefined &&
        hit === '' &&
        first !== '=' &&
        first !== '~'
      ) {
        continue;
      }
      const read = text.slice(start, at);
      if (exempt === 'condition') {
        if (read === ']]') exempt = undefined;
        continue;
      }
      if (caseState === 'subject') {
        caseState = 'in';
        continue;
      }
      if (caseState === 'in') {
        caseState = 'pattern';
        continue;
      }
      if (caseState === 'pattern') {
        if (read === 'esac') {
          caseState = undefined;
          command = false;
        }
        continue;
      }
      if (command && read === '[[') {
        exempt = 'condition';
        continue;
      }
      if (command && read === 'case') {
        caseState = 'subject';
        continue;
      }
      if (command && caseState === 'body' && read === 'esac') {
        caseState = undefined;
        command = false;
        continue;
      }
      const assignment = (command || declaration) && read.includes('=') && ASSIGNMENT.test(read);
      if (!assignment) {
        const line = lineAt(start);
        if (hit !== '') found.push({ line, word: read, expansion: 'glob', character: hit });
        else if (first === '=' && read.length > 1) {
          found.push({ line, word: read, expansion: 'equals', character: '=' });
        } else if (first === '~' && /^~[A-Za-z_]/.test(read)) {
          found.push({ line, word: read, expansion: 'tilde', character: '~' });
        }
      }
      if (command && !assignment) {
        if (DECLARATIONS.has(read)) declaration = true;
        command = KEEP_COMMAND.has(read);
      }
    }
  };

  commands(undefined);
  return found;
}
