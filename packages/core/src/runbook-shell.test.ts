import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  boundedWait,
  commentLines,
  endlessWaits,
  parseBoundedWait,
  readCommand,
  readNotLast,
  readsTerminal,
  shellBlocks,
  terminalReader,
  unchainedGuards,
  uniqueReads,
  WAIT_SECONDS,
  waitLoops,
  zshExpandedWords,
} from './runbook-shell.js';
import { findZsh, type PasteShell, pasteShells, zshTestRuns } from './testing.js';

const block = (...lines: string[]) => lines.map((text, index) => ({ line: index + 1, text }));

/** Runs a script with sh, returning its status and stderr. */
function runIn(
  shell: PasteShell,
  script: string,
): { status: number; stderr: string; stdout: string } {
  try {
    const stdout = execFileSync(shell.command, [...shell.args, script], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return { status: 0, stderr: '', stdout };
  } catch (caught) {
    const failed = caught as { status: number; stderr: string; stdout: string };
    return { status: failed.status, stderr: failed.stderr, stdout: failed.stdout };
  }
}

/**
 * Runs a script with sh and, where found, zsh (where operators paste on macOS), which must give
 * the same status, stdout and stderr; returns sh's.
 */
function run(script: string): { status: number; stderr: string; stdout: string } {
  const [first, ...others] = pasteShells();
  const result = runIn(first as PasteShell, script);
  for (const shell of others) expect(runIn(shell, script), shell.name).toEqual(result);
  return result;
}

(zshTestRuns('runbook-shell') ? it : it.skip)('runs its scripts in zsh too', () => {
  expect(pasteShells().map((shell) => shell.name)).toEqual(['sh', 'zsh']);
});

describe('readCommand', () => {
  it('prompts, reads without echo and exports, on one line', () => {
    expect(readCommand({ variable: 'AWS_ACCESS_KEY_ID', prompt: 'S3 access key id' })).toBe(
      "printf '%s' 'S3 access key id: ' && read -rs AWS_ACCESS_KEY_ID && export AWS_ACCESS_KEY_ID && echo",
    );
  });

  it('refuses a variable name the shell would not take', () => {
    expect(() => readCommand({ variable: 'a-b', prompt: 'x' })).toThrow('not a shell variable');
  });

  it('keeps the first of two reads of one variable', () => {
    const first = { variable: 'T', prompt: 'token' };
    expect(
      uniqueReads([first, { variable: 'T', prompt: 'again' }, { variable: 'U', prompt: 'u' }]),
    ).toEqual([first, { variable: 'U', prompt: 'u' }]);
  });
});

describe('readsTerminal and readNotLast', () => {
  it('sees a prompt read, and not a read fed by a pipe or a while loop', () => {
    expect(readsTerminal('read -rs BWS_ACCESS_TOKEN && export BWS_ACCESS_TOKEN')).toBe(true);
    expect(readsTerminal(readCommand({ variable: 'X', prompt: 'x' }))).toBe(true);
    expect(readsTerminal('kubectl get pods | while read -r pod; do echo "$pod"; done')).toBe(false);
    expect(readsTerminal('while IFS= read -r path; do :; done < list')).toBe(false);
    expect(readsTerminal('printf x | read -r y')).toBe(false);
    expect(readsTerminal('kubectl get secret x -o jsonpath={.data.read}')).toBe(false);
  });

  it('finds a read followed by a command in its block, and passes one that ends it', () => {
    const broken = block('read -rs TOKEN && export TOKEN', 'kubectl create secret generic x');
    expect(readNotLast(broken)?.line).toBe(1);
    expect(readNotLast(block('kubectl get nodes', 'read -rs TOKEN', ''))).toBeUndefined();
    expect(readNotLast(block('kubectl get nodes'))).toBeUndefined();
  });
});

describe('terminalReader', () => {
  it('finds the commands that take the terminal over', () => {
    expect(
      [
        'read -rs TOKEN',
        'kubectl -n authelia exec -it deployment/authelia -- sh',
        'kubectl exec --stdin pod/x -- cat',
        'kubectl -n x exec -ti pod/y -c z -- sh',
        'kubectl run debug -i --rm --image=busybox -- sh',
        'kubectl attach -i pod/x',
        'kubectl -n argocd edit configmap argocd-cm',
        'talosctl -n 10.0.0.11 edit machineconfig',
        'talosctl -n 10.0.0.11 dashboard',
        'kubectl get nodes && kubectl exec -i pod/x -- sh',
      ].map(terminalReader),
    ).toEqual([
      'read',
      'kubectl exec -i',
      'kubectl exec -i',
      'kubectl exec -i',
      'kubectl run -i',
      'kubectl attach -i',
      'kubectl edit',
      'talosctl edit',
      'talosctl dashboard',
      'kubectl exec -i',
    ]);
  });

  it('passes input from a pipe or a file, commands without -i, and the words of other commands', () => {
    expect(
      [
        "kubectl get secret s -o jsonpath='{.data.key}' | base64 -d | kubectl -n authelia exec -i deployment/authelia -- sh -c 'cat > /tmp/k'",
        'kubectl exec -i pod/x -- sh < script.sh',
        'kubectl -n cilium-spire exec spire-server-0 -c spire-server -- /opt/spire/bin/spire-server entry show',
        'kubectl exec --stdin=false pod/x -- ls',
        'kubectl exec pod/x -- grep -i error /var/log/x',
        'kubectl get pods -o name | grep -i edit',
        'echo kubectl edit cm/x',
        'talosctl -n 10.0.0.11 get machineconfig',
        'kubectl get pods || kubectl exec -i pod/x -- true < /dev/null',
      ].map(terminalReader),
    ).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('finds a git commit that opens the editor, and passes one given its message', () => {
    expect(
      [
        'git add charts clusters && git commit && git push',
        'git commit',
        'git -C repo commit -a',
        'git commit -m "x" -e',
        'git commit -am "x" --edit',
        'git commit -c HEAD',
        'git commit -t template.txt -m x',
        'git commit -m "update charts" && git status',
        'git commit -am wip',
        'git -C repo commit --message=x',
        'git commit -F msg.txt',
        'git commit --amend --no-edit',
        'git commit -C HEAD',
        'git commit --fixup HEAD~1',
        'git commit --dry-run',
        'git log -1 --format=%s; echo git commit',
        'git -c core.editor=true commit -m x',
      ].map(terminalReader),
    ).toEqual([
      'git commit',
      'git commit',
      'git commit',
      'git commit',
      'git commit',
      'git commit',
      'git commit',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('finds talosctl and kubectl questions on stdin, and passes their non-interactive forms', () => {
    expect(
      [
        'talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n 10.10.10.11',
        'talosctl -n 10.10.10.11 kubeconfig',
        'talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n 10.10.10.11 --force=false',
        'talosctl config remove old-cluster',
        'kubectl delete pod x -i',
        'kubectl -n a delete --interactive=true pod x --timeout=1m',
        'talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n 10.10.10.11 --force',
        'talosctl kubeconfig out -f -n 10.10.10.11',
        'talosctl kubeconfig out --merge=false',
        'talosctl kubeconfig - -n 10.10.10.11',
        'yes | talosctl kubeconfig out',
        'talosctl config remove old-cluster --noconfirm',
        'talosctl config remove old-* -y',
        'talosctl config remove old --dry-run',
        'talosctl config endpoint 10.10.10.11',
        'kubectl delete pod x --timeout=1m',
        'kubectl delete pod x --interactive=false --timeout=1m',
      ].map(terminalReader),
    ).toEqual([
      'talosctl kubeconfig',
      'talosctl kubeconfig',
      'talosctl kubeconfig',
      'talosctl config remove',
      'kubectl delete -i',
      'kubectl delete -i',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('finds a command that streams until Ctrl-C, piped or not, and passes its bounded forms', () => {
    expect(
      [
        'kubectl -n argocd port-forward svc/argocd-server 8080:443',
        'kubectl proxy --port=8001',
        'kubectl -n authelia logs -f deployment/authelia',
        'kubectl logs deployment/authelia --follow --tail=20',
        'kubectl get pods -A -w',
        'kubectl get applications -n argocd --watch-only',
        'kubectl events -n longhorn-system --watch',
        'talosctl -n 10.10.10.11 logs -f kubelet',
        'talosctl -n 10.10.10.11 dmesg --follow',
        'true | kubectl logs -f x',
        'kubectl logs deployment/authelia --tail=20',
        'kubectl logs x --follow=false',
        'kubectl get pods -A -o wide',
        'kubectl get pods --watch=false',
        'kubectl apply -f x.yaml',
        'talosctl -n 10.10.10.11 logs kubelet',
        'talosctl -n 10.10.10.11 dmesg',
      ].map(terminalReader),
    ).toEqual([
      'kubectl port-forward',
      'kubectl proxy',
      'kubectl logs -f',
      'kubectl logs -f',
      'kubectl get -w',
      'kubectl get -w',
      'kubectl events -w',
      'talosctl logs -f',
      'talosctl dmesg -f',
      'kubectl logs -f',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('finds an age decryption or passphrase encryption, piped or not, and passes the rest', () => {
    expect(
      [
        'age --decrypt -i "$AGE_KEY_FILE" -o ./db.snapshot ./etcd-snapshot.age',
        'aws s3 cp x - | age -d -i key.txt > db.snapshot',
        'age -d backup.age < /dev/null',
        'age -p -o secret.age secret.txt',
        'age -r age1xyz -o secret.age secret.txt',
        'age-keygen -o key.txt',
        'echo age -d x',
      ].map(terminalReader),
    ).toEqual([
      'age --decrypt',
      'age --decrypt',
      'age --decrypt',
      'age --passphrase',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('finds a git command that talks to a remote, piped or not, and passes local ones', () => {
    expect(
      [
        'git push',
        'git -C repo push origin main',
        'git commit -m x && git push',
        'git fetch origin --tags',
        'git pull --ff-only',
        'git clone https://git.example.com/homelab.git',
        'echo | git ls-remote origin',
        'git push < /dev/null',
        'git show main:clusters/dev/root-application.yaml | kubectl apply -f -',
        'git add charts clusters',
        'git status --short',
        'git log --format=%s -1 push',
        'git tag --points-at HEAD',
      ].map(terminalReader),
    ).toEqual([
      'git push',
      'git push',
      'git push',
      'git fetch',
      'git pull',
      'git clone',
      'git ls-remote',
      'git push',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('finds an argocd login or password change that prompts, and passes one given its values', () => {
    expect(
      [
        'argocd login argocd.example.com --grpc-web --username admin',
        'argocd login argocd.example.com',
        'argocd login argocd.example.com --username admin --password',
        'argocd --server x account update-password',
        'argocd account update-password --new-password "$NEW"',
        'argocd login argocd.example.com --grpc-web --sso',
        'argocd login argocd.example.com --username admin --password "$P"',
        'argocd login argocd.example.com --username=admin --password=x --grpc-web',
        'argocd account update-password --current-password "$P" --new-password "$NEW"',
        'argocd admin initial-password -n argocd',
        'argocd app list; echo argocd login x',
      ].map(terminalReader),
    ).toEqual([
      'argocd login',
      'argocd login',
      'argocd login',
      'argocd account update-password',
      'argocd account update-password',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('makes readNotLast find a terminal command followed by a command', () => {
    expect(
      readNotLast(block('kubectl -n x exec -it deploy/y -- sh', 'kubectl get pods'))?.line,
    ).toBe(1);
    expect(
      readNotLast(block('kubectl get pods', 'talosctl -n 10.0.0.11 dashboard')),
    ).toBeUndefined();
  });

  it('reads the lines that continue a command list (`&&`, `||`, `|`, `\\` at the end) as part of it', () => {
    // Given a commit and a push whose list goes on to the block's last line: the shell reads it all
    // before git starts
    expect(
      readNotLast(block('pnpm build &&', 'git add charts &&', 'git commit &&', 'git push', '')),
    ).toBeUndefined();
    expect(
      readNotLast(block('git push ||', '  echo refused |', '  tee log \\', '  -a')),
    ).toBeUndefined();
    // Then a line after the list's end is after it, and a line that does not continue ends it
    expect(
      readNotLast(block('git commit &&', 'git push', 'kubectl apply -f root.yaml'))?.line,
    ).toBe(1);
    expect(readNotLast(block('git push && echo pushed', 'git fetch'))?.line).toBe(1);
    expect(readNotLast(block('pnpm build &&', 'git push', 'git fetch &&', 'echo ok'))?.line).toBe(
      2,
    );
  });
});

describe('unchainedGuards', () => {
  it('finds a guard ending a line with a command line after it, and passes chained or last ones', () => {
    const lines = (...texts: string[]) =>
      unchainedGuards(block(...texts)).map((entry) => entry.line);
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell parameter expansions
    // A guard alone, two guards, a guard after other commands: each followed by a line
    expect(lines(': "${NODE:?set it}"', 'kubectl get pods')).toEqual([1]);
    expect(lines(': "${A:?read it}" "${B:?read it}"', 'export A B', '')).toEqual([1]);
    expect(lines('export X=1; : "${NODE:?set it}"', 'echo $NODE')).toEqual([1]);
    // Chained on its line, continued by a trailing &&, last in its block (blank lines after it)
    expect(lines(': "${NODE:?set it}" && kubectl get pods', 'kubectl get pdb -A')).toEqual([]);
    expect(lines(': "${NODE:?set it}" &&', 'kubectl get pods')).toEqual([]);
    expect(lines('kubectl get pods', ': "${NODE:?set it}"', '')).toEqual([]);
    // Not a guard: a default, an echo of one, a guard inside a longer command
    expect(lines(': "${NODE:-x}"', 'echo', 'echo \': "${A:?b}"\'', 'echo')).toEqual([]);
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: shell parameter expansions
  });
});

describe('boundedWait', () => {
  it('renders a deadline, the message and the interval, and reads back', () => {
    // Given a wait of 10 minutes every 10 seconds
    const line = boundedWait({
      condition: 'kubectl get nodes',
      seconds: WAIT_SECONDS.disks,
      interval: 10,
      message: "the node's disks are not there",
    });
    // Then it is one line with its deadline and message, and parses back to its values
    expect(line).toBe(
      `( deadline=$(($(date +%s) + 600)); until kubectl get nodes; do if [ "$(date +%s)" -ge "$deadline" ]; then echo 'timed out after 10 minutes: the node'\\''s disks are not there' >&2; exit 1; fi; sleep 10; done )`,
    );
    expect(parseBoundedWait(line)).toEqual({
      condition: 'kubectl get nodes',
      seconds: 600,
      interval: 10,
    });
    expect(parseBoundedWait(`  ${line} &&`)?.condition).toBe('kubectl get nodes');
    expect(parseBoundedWait('until kubectl get nodes; do sleep 10; done')).toBeUndefined();
  });

  it('fails with its message once the deadline passed, and lets the next command run once the condition holds', () => {
    // Given a condition that never holds, with a 2-second deadline and its diagnosis
    const never = boundedWait({
      condition: 'false',
      seconds: 2,
      interval: 1,
      message: 'nothing came',
      diagnose: 'echo seen >&2',
    });
    // When run by sh, chained to a command after it
    const failed = run(`${never} && echo after`);
    // Then it fails, says what did not happen, and the chain stops
    expect(failed.status).toBe(1);
    expect(failed.stderr).toBe('timed out after 2 seconds: nothing came\nseen\n');
    expect(failed.stdout).toBe('');
    // And a condition that holds lets the chain go on, in the same shell
    const held = run(
      `${boundedWait({ condition: 'true', seconds: 60, interval: 5, message: 'x' })} && echo after`,
    );
    expect(held).toEqual({ status: 0, stderr: '', stdout: 'after\n' });
  });

  it('prints a message that holds quotes and substitutions as it is, running none of them', () => {
    const message = "it's $(echo ran) `echo ran` done";
    const failed = run(boundedWait({ condition: 'false', seconds: 2, interval: 1, message }));
    expect(failed.status).toBe(1);
    expect(failed.stderr).toBe(`timed out after 2 seconds: ${message}\n`);
  });

  it('refuses a bound shorter than its interval', () => {
    expect(() =>
      boundedWait({ condition: 'true', seconds: 5, interval: 10, message: 'x' }),
    ).toThrow('not a wait interval');
  });
});

describe('waitLoops', () => {
  it('finds an unbounded until loop that sleeps', () => {
    const loops = waitLoops(
      block('kubectl get nodes', 'until kubectl get nodes; do sleep 10; done'),
    );
    expect(loops).toEqual([
      { line: 2, text: 'until kubectl get nodes; do sleep 10; done', bounded: false },
    ]);
  });

  it('takes a boundedWait, a counter and a multi-line while loop as bounded or not by their tests', () => {
    const wait = boundedWait({ condition: 'true', seconds: 60, interval: 5, message: 'x' });
    expect(
      waitLoops(
        block(
          wait,
          'tries=0; until ok; do [ "$((tries += 1))" -lt 60 ] || break; sleep 10; done',
          'while ! ok; do',
          '  sleep 5',
          'done',
        ),
      ).map((loop) => [loop.line, loop.bounded]),
    ).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
  });

  it('leaves loops that do not sleep and for loops alone', () => {
    expect(
      waitLoops(
        block(
          'kubectl get pods | while read -r pod; do kubectl delete pod "$pod"; done',
          'for attempt in $(seq 20); do',
          '  if [ "$attempt" -eq 20 ]; then false; else sleep 15; fi',
          'done',
        ),
      ),
    ).toEqual([]);
  });
});

describe('endlessWaits', () => {
  const endless = (...lines: string[]) =>
    endlessWaits(block(...lines)).map((wait) => [wait.line, wait.waits, wait.text]);

  it('finds rollout status and drain without a non-zero --timeout, at their lines', () => {
    expect(
      endless(
        'kubectl -n argocd rollout status deployment/argocd-server',
        'kubectl cordon n1 && kubectl drain n1 --ignore-daemonsets | tee log',
        'x=$(kubectl rollout status ds/cilium -n kube-system --timeout=0s)',
        'kubectl drain n2 --timeout 0 \\',
        '  --delete-emptydir-data',
      ),
    ).toEqual([
      [1, 'rollout status', 'kubectl -n argocd rollout status deployment/argocd-server'],
      [2, 'drain', 'kubectl drain n1 --ignore-daemonsets'],
      [3, 'rollout status', 'kubectl rollout status ds/cilium -n kube-system --timeout=0s'],
      [4, 'drain', 'kubectl drain n2 --timeout 0 \\\n  --delete-emptydir-data'],
    ]);
  });

  it('passes a bound, a rollout status that does not watch, and the commands that end', () => {
    expect(
      endless(
        'kubectl -n cilium-spire rollout status statefulset spire-server --timeout=10m',
        'kubectl drain n1 --ignore-daemonsets --delete-emptydir-data --timeout=5m &&',
        'kubectl drain n1 --timeout 90s',
        "kubectl rollout status deploy/x --timeout='2m'",
        'kubectl rollout status deploy/x --watch=false',
        'kubectl rollout restart deploy/x; kubectl rollout history deploy/x',
        'kubectl wait --for=condition=Ready pod/x',
        "kubectl get pods -o jsonpath='{.items[*].metadata.name} drain'",
        'kubectl -n drain get pods; echo kubectl drain',
        'kubectl logs deploy/drain',
      ),
    ).toEqual([]);
  });

  it('reads a namespace or selector value as a value, not as the command', () => {
    expect(endless('kubectl -n rollout get pods', 'kubectl -l app=x -n drain drain n1')).toEqual([
      [2, 'drain', 'kubectl -l app=x -n drain drain n1'],
    ]);
  });

  it('finds curl without a non-zero --max-time, and passes those with one', () => {
    expect(
      endless(
        'curl -sI http://gateway-check.lab.example.com/ | head -n 1',
        'curl -sS -X POST --data-binary @s.yaml https://factory.talos.dev/schematics --connect-timeout 10',
        'curl -m 0 https://x/',
        'curl -sI --max-time 30 http://x/ | head -n 1',
        'curl -sSm 20 https://x/ && curl -m5 https://y/ && curl --max-time 1.5 https://z/',
        'echo curl https://x/',
      ),
    ).toEqual([
      [1, 'curl', 'curl -sI http://gateway-check.lab.example.com/'],
      [
        2,
        'curl',
        'curl -sS -X POST --data-binary @s.yaml https://factory.talos.dev/schematics --connect-timeout 10',
      ],
      [3, 'curl', 'curl -m 0 https://x/'],
    ]);
  });

  it('finds kubectl delete that waits without a non-zero --timeout, and passes the bounded and the ones that do not wait', () => {
    expect(
      endless(
        'kubectl -n argocd delete application dev-longhorn --ignore-not-found',
        'kubectl delete node n1 --timeout=0s && kubectl delete --ignore-not-found -f x.yaml',
        'kubectl -n ns delete pod -l app=x --field-selector spec.nodeName=n1 --wait',
        'kubectl delete node n1 --timeout=2m; kubectl delete pvc x --wait=false',
        'kubectl delete -f x.yaml --dry-run=client; kubectl --timeout 5m delete pod x',
        'kubectl get pods --field-selector delete; kubectl -n delete get pods',
      ),
    ).toEqual([
      [1, 'delete', 'kubectl -n argocd delete application dev-longhorn --ignore-not-found'],
      [2, 'delete', 'kubectl delete node n1 --timeout=0s'],
      [2, 'delete', 'kubectl delete --ignore-not-found -f x.yaml'],
      [3, 'delete', 'kubectl -n ns delete pod -l app=x --field-selector spec.nodeName=n1 --wait'],
    ]);
  });

  it('reads a negative --timeout as no bound, and a kubectl wait without one as bounded', () => {
    expect(
      endless(
        'kubectl -n x wait --for=delete pod/p --timeout=-1s',
        'kubectl drain n1 --timeout=-5m; kubectl delete node n1 --timeout -1h',
        'kubectl wait --for=condition=Ready node/n1; kubectl wait --for=delete pod/p --timeout=0',
        'kubectl -n x wait --for=delete pod/p --timeout=10m',
      ),
    ).toEqual([
      [1, 'wait', 'kubectl -n x wait --for=delete pod/p --timeout=-1s'],
      [2, 'drain', 'kubectl drain n1 --timeout=-5m'],
      [2, 'delete', 'kubectl delete node n1 --timeout -1h'],
    ]);
  });

  it('finds kubectl after an assignment or a reserved word, not as an argument', () => {
    expect(
      endless(
        'KUBECONFIG=./kc kubectl drain n1',
        'if kubectl rollout status deploy/x; then echo ok; fi',
        'echo kubectl drain n1; printf "%s" "kubectl drain"',
      ),
    ).toEqual([
      [1, 'drain', 'kubectl drain n1'],
      [2, 'rollout status', 'kubectl rollout status deploy/x'],
    ]);
  });
});

describe('shellBlocks', () => {
  it('reads the sh blocks of a document, indented ones too, with their line numbers', () => {
    const markdown = [
      '# x',
      '```sh',
      'a',
      '```',
      '1. step',
      '   ```sh',
      '   b',
      '   ```',
      '```yaml',
      'c: 1',
      '```',
    ].join('\n');
    expect(shellBlocks(markdown)).toEqual([[{ line: 3, text: 'a' }], [{ line: 7, text: '   b' }]]);
  });
});

describe('commentLines', () => {
  const lines = (...texts: string[]) => commentLines(block(...texts)).map((entry) => entry.line);

  it('finds a comment line, a comment after a command or an operator, as the lexer starts one', () => {
    expect(lines('# a note', 'kubectl get nodes')).toEqual([1]);
    expect(lines('  # indented')).toEqual([1]);
    expect(lines('curl -sI http://x/ | head -n 1   # 301 to https')).toEqual([1]);
    expect(lines("CLAIM='<namespace>/<claim>' # one claim")).toEqual([1]);
    expect(lines('true;# after an operator', 'false&&#x', '(#y)')).toEqual([1, 2, 3]);
  });

  it('passes # inside a word, a parameter expansion, quotes, or after a backslash', () => {
    expect(
      lines(
        "sed -e 's#^s3://#s3:https://#' -e '/x/!s#a#b#'",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
        'echo "${#NODE} $# a#b" \\# "# not" \'# not\'',
        'kubectl get pods -o jsonpath="{.items[*].metadata.name}" | grep -c "#"',
        "printf '%s' 'it'\\''s # still quoted'",
      ),
    ).toEqual([]);
  });

  it('carries a quote over to the next line', () => {
    expect(lines("sh -c 'a", '# inside the quotes', "b'", '# outside')).toEqual([4]);
  });

  (zshTestRuns('commentLines') ? it : it.skip)(
    'agrees with zsh, which runs # as a command on its prompt (broken on purpose)',
    () => {
      // zsh -f -i without INTERACTIVE_COMMENTS: the comment's words reach the command before it
      const zsh = findZsh();
      if (zsh === undefined) throw new Error('zsh not found: .ci/install-zsh, and ZSH_DIR');
      const paste = (text: string) =>
        execFileSync(zsh, ['-f', '-i'], {
          input: `${text}\n`,
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', PS1: '', PS2: '', HISTFILE: '' },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
      expect(paste('echo a # b c')).toContain('a # b c');
      expect(lines('echo a # b c')).toEqual([1]);
      expect(paste("echo 'a # b'")).toContain('a # b');
      expect(lines("echo 'a # b'")).toEqual([]);
    },
  );
});

describe('zshExpandedWords', () => {
  const words = (...texts: string[]) =>
    zshExpandedWords(block(...texts)).map((found) => [found.line, found.word, found.character]);

  // Each line, with whether zsh (default options) fails it for a word bash passes on as written;
  // the last test runs every line in zsh, in an empty folder, as the oracle of this table.
  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell parameter expansions
  const LINES: readonly (readonly [string, boolean])[] = [
    ['print -r -- a*b', true],
    ['print -r -- a?b', true],
    ['print -r -- http://x/?a=b', true],
    ['print -r -- a[b]', true],
    ['print -r -- a[', true],
    ['print -r -- -o=jsonpath={.items[*].metadata.name}', true],
    ["print -r -- -o=jsonpath='{.items[*].metadata.name}'", false],
    ['print -r -- "-o=jsonpath={.items[*]}"', false],
    ['print -r -- a\\*b', false],
    ['print -r -- [ ]', false],
    ['[ a = a ] && print -r -- ok', false],
    ['[ a == a ] && print -r -- ok', true],
    ['print -r -- =print', true],
    ['print -r -- ~nosuchuser', true],
    ['print -r -- ~/x', false],
    ['print -r -- x=*', true],
    ['X=* print -r -- "$X"', false],
    ['export X=*; print -r -- "$X"', false],
    ['X=$(print -r -- *)', true],
    ['X="$(print -r -- *)"', true],
    ['print -r -- "$(print -r -- a?)"', true],
    ['print -r -- `print -r -- *`', true],
    ['print -r -- $* $? $# "$@"', false],
    ['print -r -- $((2 * 3)) $(( 4 ? 1 : 0 ))', false],
    ['(( 2 * 3 )) && print -r -- ok', false],
    ['[[ abc == a*c ]] && print -r -- ok', false],
    ['[[ abc == a?c && b == [ab] ]] && print -r -- ok', false],
    ['X=a/b; print -r -- ${X%%/*} ${X#*/} ${X/?/c}', false],
    ['print -r -- ${X:-*}', true],
    ['print -r -- "${X:-*}"', false],
    ['print -r -- ${X:-"*"}', false],
    ['case ab in a*) print -r -- star;; [xy]?) print -r -- class;; esac', false],
    ['case ab in\n  a?) print -r -- ab\n    ;;\nesac; print -r -- *', true],
    ["print -r -- 'a*' \"b?\" $'c[d]'", false],
    ['for f in a b; do print -r -- "$f"; done', false],
    ['for f in *.yaml; do print -r -- "$f"; done', true],
    ['print -r -- {a,b}c', false],
    ["print -r -- 'it'\\''s' a*", true],
    ['f() { print -r -- "$1"; }; f x', false],
    ['print -r -- a \\\n  b*', true],
  ];
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: shell parameter expansions

  it('finds globs, = and ~ words outside quotes, conditions, arithmetic, patterns and values', () => {
    const wrong = LINES.filter(
      ([line, fails]) => zshExpandedWords(block(...line.split('\n'))).length > 0 !== fails,
    ).map(([line, fails]) => `${fails ? 'missed' : 'wrongly found'}: ${line}`);
    expect(wrong).toEqual([]);
  });

  it('reports the word, its line and the character', () => {
    expect(words('kubectl get pods \\', '  -o jsonpath={.items[*].metadata.name} | head')).toEqual([
      [2, 'jsonpath={.items[*].metadata.name}', '['],
    ]);
  });

  (zshTestRuns('zshExpandedWords') ? it : it.skip)(
    'agrees with zsh on every line of the table (broken on purpose)',
    () => {
      const zsh = findZsh();
      if (zsh === undefined) throw new Error('zsh not found: .ci/install-zsh, and ZSH_DIR');
      const empty = mkdtempSync(join(tmpdir(), 'homelab-zsh-'));
      try {
        const failed = (line: string): boolean => {
          const run = spawnSync(zsh, ['-f', '-c', line], {
            cwd: empty,
            encoding: 'utf8',
            env: { PATH: process.env.PATH ?? '', HOME: empty },
          });
          return /no matches found|bad pattern|not found|no such user or named directory/.test(
            run.stderr,
          );
        };
        const disagree = LINES.filter(([line, fails]) => failed(line) !== fails).map(
          ([line, fails]) => `zsh ${fails ? 'passes' : 'fails'}: ${line}`,
        );
        expect(disagree).toEqual([]);
        // And the oracle tells the difference: it fails one and passes the other
        expect([failed('print -r -- a*'), failed("print -r -- 'a*'")]).toEqual([true, false]);
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    },
  );
});
