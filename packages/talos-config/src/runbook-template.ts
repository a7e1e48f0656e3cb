// The Handlebars template of each cluster's RUNBOOK.md (runbook.ts builds its view). Every value
// in a command line goes through `{{shell …}}` (POSIX single quotes unless plainly safe) or, for a
// shell variable name, `{{shellVar …}}` (validated); the lines components contribute are quoted by
// their authors (BootstrapStep.commands). HTML escaping is off: this is Markdown, not HTML.
// A step's body and commands are the inline partial `step`, shared by the numbered steps, the
// login steps and the later ones ("Later: <title>"); `talosctl gen config` with the patches is
// the inline partial `genConfig`, shared by step 3 and "Later: changing Talos settings"; the
// checks that open both blocks of "Retiring a node no longer in the definition" are the inline
// partial `removedNodeChecks`.
// Handlebars' compiler costs the CLI start-up time, so the build precompiles the template
// (`homelab-standalone template` writes dist/runbook-template.cjs, which needs only the
// Handlebars runtime); without that module (tests run from src/) or when it is stale, the
// template is compiled with Handlebars on first use.
import { createRequire } from 'node:module';
import { shellQuote, type TemplateSource, templateRenderer } from '@homelab/core';

const require = createRequire(import.meta.url);

const RUNBOOK_TEMPLATE = `{{#*inline "genConfig"}}
talosctl gen config {{shell name}} {{shell endpoint}} \\
  --with-secrets "$TALOS_DIR/secrets.yaml" \\
  --talos-version {{shell talos.line}} \\
  --kubernetes-version {{shell kubernetesVersion}} \\
  --config-patch-control-plane {{shell patches.controlPlane}} \\
  --config-patch-worker {{shell patches.worker}} \\
{{/inline}}
{{#*inline "removedNodeChecks"}}
: "\${NODE:?set it to the hostname of the node to retire}" "\${NODE_ADDRESS:?set it to the address of the node to retire}" &&
case "$NODE $NODE_ADDRESS" in
  {{{removedNode.defined}}}) echo "$NODE $NODE_ADDRESS: a node of the definition, or the API endpoint: not retiring it here" >&2; false ;;
esac &&
if ! kubectl get node "$NODE" -o jsonpath='{range .status.addresses[?(@.type=="InternalIP")]}{.address}{"\\n"}{end}' | grep -qxF -- "$NODE_ADDRESS"; then echo "$NODE_ADDRESS is not an address of Node $NODE: not retiring it" >&2; false; fi &&
{{/inline}}
{{#*inline "etcdRetireGate"}}
members=$(talosctl -n {{shell peer}} etcd members) &&
printf '%s\\n' "$members" &&
if ! others=$(printf '%s\\n' "$members" | awk -v node={{{member}}} 'NR == 1 { o = ($1 == "NODE"); next } NF != 5 + o || $(5 + o) != "false" { bad = 1 } $(2 + o) "" == node { found = 1; next } { split($(3 + o), url, ","); sub(/^https?:\\/\\//, "", url[1]); sub(/:[0-9]+$/, "", url[1]); gsub(/[][]/, "", url[1]); print url[1] } END { exit (bad || !found) }'); then echo "etcd: {{{name}}} is not a member, or a member is a learner or not started: not retiring it" >&2; false; fi &&
remaining=$(printf '%s' "$others" | awk 'END { print NR }') &&
healthy=$(for member in $(printf '%s\\n' "$others"); do talosctl -n "$member" etcd status 2>/dev/null | awk 'NR == 2 { up = 1 } END { exit !up }' && echo up; done | awk 'END { print NR }') &&
if [ "$healthy" -lt $((remaining / 2 + 1)) ]; then echo "etcd: $remaining member(s) would remain and $healthy of them answer, fewer than their quorum of $((remaining / 2 + 1)): not retiring {{{name}}}" >&2; false; fi &&
{{/inline}}
{{#*inline "afterReboot"}}
{{#if afterReboot}}

\`talosctl health\` checks etcd and Kubernetes only; after each node, the runbook also waits for:

{{#each afterReboot.reasons}}
- {{{this}}}
{{/each}}
{{/if}}
{{/inline}}
{{#*inline "loneReboot"}}
{{#if loneReboot}}

Talos stops the pods for a reboot through the kubelet's graceful shutdown, in two groups by
priority, and what keeps the others' data stops in the same group as the pods writing to it: their
last writes would be lost. The block therefore cordons the node and, before the reboot:

{{#each loneReboot.reasons}}
- {{{this}}}
{{/each}}

It uncordons the node once the API server answers again, before \`talosctl health\` (whose checks
fail while a node is cordoned); the pods stopped meanwhile start again then. Should anything
before the reboot fail, the block uncordons the node, says so and stops.
{{/if}}
{{/inline}}
{{#*inline "beforeDrain"}}
{{#if beforeDrainReasons.length}}

Before the drain the runbook cordons the node itself and moves off it what the drain must not
take while the node's other pods are evicted (Talos drains before an upgrade, but uncordons
only a node it cordoned itself: the runbook uncordons it after):

{{#each beforeDrainReasons}}
- {{{this}}}
{{/each}}
{{/if}}
{{/inline}}
{{#*inline "oneNodeAtATime"}}
{{#unless singleNode}}

One block per node, in this order. Run a node's block only once the block before it finished
without an error: a command that failed, a \`talosctl health\` that reports a problem, or a wait
that does not end means stop and look at that node, never go on to the next (a shell runs
pasted lines whatever the line before them did).
{{/unless}}
{{/inline}}
{{#*inline "nodeBlockHeading"}}
**{{{hostname}}}** ({{{role}}}, {{{address}}}){{#if @first}}:{{else}}, once the block above finished without an error:{{/if}}
{{/inline}}
{{#*inline "step"}}
{{#if body}}

{{{body}}}
{{/if}}
{{#if reads}}

{{{readNote}}}
{{#each reads}}

\`\`\`sh
{{{this}}}
\`\`\`
{{/each}}
{{/if}}
{{#if commands}}

\`\`\`sh
{{{commands}}}
\`\`\`
{{/if}}
{{#if after}}

{{{after}}}
{{/if}}
{{/inline}}
{{{header}}}
# Cluster \`{{{name}}}\`: runbook

Environment **{{{environment}}}**, Talos **{{{talos.tag}}}**, Kubernetes **{{{kubernetesVersion}}}**, API endpoint \`{{{endpoint}}}\`{{#if vip}} (Layer 2 VIP announced by the control planes on the node network){{/if}}.

Run the commands from the repository root, in one interactive bash or zsh (the steps share its
variables; the blocks are written and checked for those two, not for a POSIX sh such as dash), with
\`talosctl\` of the nodes' release ({{{talos.tag}}}), \`kubectl\` {{{kubectl}}} (within one minor release of
the API server, as Kubernetes' version skew policy supports; the waits use \`--for=create\`, from
1.31), {{{tools}}} on your workstation.
Everything under \`clusters/{{{name}}}/\` is generated from {{{definition}}};
change the definition and run \`{{{build}}}\`, never edit these files.

| file | what it is |
|---|---|
| \`{{{dir}}}/controlplane.yaml\` | patch for every control-plane node (\`--config-patch-control-plane\`) |
| \`{{{dir}}}/worker.yaml\` | patch for every worker node (\`--config-patch-worker\`) |
| \`{{{dir}}}/nodes/<hostname>.yaml\` | one patch per node: hostname, static address, install disk, labels, taints |
| \`{{{dir}}}/schematic.yaml\` | Image Factory schematic; system extensions: {{{extensions}}} |

| node | role | address | link | install disk | patch |
|---|---|---|---|---|---|
{{#each nodes}}
| {{{hostname}}} | {{{role}}} | {{{address}}} | {{{linkText}}} | {{{installDisk}}} | \`{{{../dir}}}/nodes/{{{hostname}}}.yaml\` |
{{/each}}

What the platform asks of Talos (merged from the components):

{{#each requirements}}
- {{{this}}}
{{/each}}

Addresses the LAN leaves to the cluster: keep them out of your DHCP server's range (or reserve
them there) before the nodes boot. The cluster answers ARP for them itself, so a host the DHCP
server leased one to would take it over from the cluster now and then (both answer, the last
answer wins) and neither would stay reachable:

{{#each reserved}}
- {{{this}}}
{{/each}}
{{#if baseline.length}}

The security baseline every node gets:

{{#each baseline}}
- {{{this}}}
{{/each}}
{{/if}}

## 1. Generate the cluster secrets (once)

The Talos secrets, \`talosconfig\` and \`kubeconfig\` are credentials: keep them outside this
repository (the commands use \`~/.homelab/{{{name}}}\`) and back \`secrets.yaml\` up in your
password manager; it is needed to add nodes or rebuild the cluster. Never commit them.

\`\`\`sh
export TALOS_DIR="$HOME"/.homelab/{{shell name}}
export TALOSCONFIG="$TALOS_DIR/talosconfig"
mkdir -p "$TALOS_DIR" && chmod 700 "$TALOS_DIR"
talosctl gen secrets -o "$TALOS_DIR/secrets.yaml"
\`\`\`

## 2. Register the schematic with the Image Factory

The schematic selects the system extensions ({{{extensions}}}). The Image Factory answers with
its id; it must be \`{{{schematic.id}}}\`, the id the patches already use (the \`grep\` prints it,
or nothing when the factory computed another id).

\`\`\`sh
curl -sS --max-time 60 -X POST --data-binary {{shell schematic.upload}} {{shell schematic.endpoint}} | grep -F {{shell schematic.id}}
\`\`\`

Boot every machine from the matching image, e.g. the ISO
\`{{{schematic.iso}}}\`. The nodes install
\`{{{installImage}}}\`.
{{#if secureBoot}}

The disk encryption keys are sealed by the TPM, which needs Talos booted in UEFI Secure Boot
mode: only the signed (SecureBoot) images carry the key the TPM seals them to, so the ISO and
the installer above are the SecureBoot ones. Before a machine first boots the ISO, enter its
firmware setup, enable Secure Boot and put it into **setup mode** (clear or reset the Secure
Boot keys, so that no platform key is enrolled). Then boot the ISO and choose the boot menu's
**Enroll Secure Boot keys: auto** entry, which enrolls Sidero Labs' keys from the ISO (in a
virtual machine the menu may do so on its own: the ISO sets \`secure-boot-enroll if-safe\`).
The machine reboots with the keys enrolled and boots Talos in Secure Boot mode. A machine that boots the ISO without Secure Boot cannot seal its
disk keys, and its installation fails.

The keys are sealed to the Secure Boot state (PCR 7, Talos' default when a key names no PCRs)
besides Talos' signed boot policy (PCR 11). A firmware update that changes the Secure Boot
variables (a BIOS update, a new \`db\` or \`dbx\`, keys reset in the setup) changes PCR 7: the
node can no longer unseal its STATE and EPHEMERAL partitions and boots no further. Before such an
update, treat the node as one to replace: drain it, update, and if it does not come back, reset
it from the boot menu and install it again as "Replacing a dead node" says (its Longhorn
replicas on the system disk are rebuilt from the others).
{{/if}}

## 3. Generate the machine configs with the patches

From the secrets of step 1, so this step can run again (a rebuild{{#if disasterRecovery}}, \`disaster-recovery.md\`{{/if}}):
\`--force\` overwrites the configs and \`talosconfig\` a run before left, which talosctl otherwise
refuses to replace.

\`\`\`sh
{{> genConfig}}
  --output-dir "$TALOS_DIR" --force
\`\`\`

## 4. Find each node's DHCP address

Booted from the ISO, a machine waits in maintenance mode with an address from DHCP: its static
address applies only once its config is in. Read each machine's address from its console (or
your DHCP server's leases), write it after the \`=\` of the node's \`export\` line, then check it
is the right machine: its links must include the one the node's patch configures. Check its
disks too: Talos installs to, and wipes, the disk its patch names. A kernel name such as
\`/dev/nvme0n1\` is whatever disk the kernel probed first in this boot, the boot Talos installs
in, and can be a data disk on a machine with two disks of one kind: \`get disks\` lists each disk
with its \`dev_path\`, \`serial\` and \`model\`.

| node | variable | in \`get links\` look for | in \`get disks\` the install disk is |
|---|---|---|---|
{{#each nodes}}
| {{{hostname}}} | \`{{{dhcpVar}}}\` | {{{identify}}} | {{{installDiskCheck}}} |
{{/each}}

\`\`\`sh
{{#each nodes}}
export {{shellVar dhcpVar}}=
{{/each}}
{{#each nodes}}
talosctl -n "\${ {{~shellVar dhcpVar~}} :?set it to the address the node got from DHCP}" get links --insecure -o yaml
talosctl -n "\${ {{~shellVar dhcpVar~}} :?set it to the address the node got from DHCP}" get disks --insecure -o yaml
{{/each}}
\`\`\`

Where a machine has not the link or the disk its node names, change the node in
{{{definition}}} before step 5: its \`link\` (the name \`get links\` shows, or the link selected by
\`hardwareAddr\` or \`busPath\`) and its \`installDisk\` (the \`dev_path\` \`get disks\` shows, or the
disk selected by \`serial\`), run \`{{{build}}}\` and commit, then step 3 again. A patch naming a
link the machine lacks leaves it without a network once installed (the link's configuration
turns Talos' default DHCP off): out of reach but from its console.

## 5. Apply the configs

Each machine gets its role's config and its own patch at its DHCP address (\`--insecure\`: in
maintenance mode the machine has no certificates yet). It installs Talos, reboots and comes
back at its static address.

\`\`\`sh
{{#each nodes}}
talosctl apply-config --insecure -n "\${ {{~shellVar dhcpVar~}} :?set it to the address the node got from DHCP}" -f "$TALOS_DIR"/{{shell configFile}} --config-patch {{shell patchArg}}
{{/each}}
\`\`\`

## 6. Bootstrap etcd (once, on one control plane)

The first control plane answers at its static address only once it has installed Talos and
rebooted, minutes after its config went in, and takes the bootstrap only once its container
runtime runs and its clock is in sync: until then \`talosctl bootstrap\` fails (no connection,
\`bootstrap is not available yet\`, \`time is not in sync yet\`), and the loop prints the
error and tries again until it succeeds, for {{{waits.bootstrapMinutes}}} minutes at most. It also ends on
\`AlreadyExists\` (\`etcd data directory is not empty\`): etcd is bootstrapped, by an earlier
try whose answer was lost.

\`\`\`sh
talosctl config endpoint{{#each controlPlanes}} {{shell address}}{{/each}}
talosctl config node {{shell first.address}}
{{{waits.bootstrap}}}
\`\`\`

## 7. Fetch the kubeconfig

The kubeconfig names the API endpoint \`{{{endpoint}}}\`{{#if vip}}, the VIP a control plane takes
only once etcd runs{{/if}}: it answers once etcd and the control plane's static pods run, a few
minutes after the bootstrap, and the last command waits for it. The file holds this cluster
only: \`--force\` replaces its entries when the step runs again (a rebuild, a recovery), where
\`talosctl\` would otherwise ask on the terminal whether to rename or overwrite them and read the
answer from the next pasted line.

\`\`\`sh
talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n {{shell first.address}} --force
export KUBECONFIG="$TALOS_DIR/kubeconfig"
{{{waits.apiServer}}}
\`\`\`
{{#if cniNotice}}

{{{cniNotice}}}
{{/if}}
{{#if userVolumes}}

Each data disk's user volume must reach \`ready\` before anything uses \`/var/mnt/<name>\`. Talos
provisions it only on an empty disk or in free space of a GPT partition table: on a disk that
still holds old partitions or a filesystem it stays \`waiting\`, and a storage component that
reads the node's disk list from its annotation may use none of the node's disks while one path is
missing. \`talosctl -n <address> get discoveredvolumes\` shows what such a disk holds;
once nothing on it is needed, \`talosctl -n <address> wipe disk <device>\` (e.g. \`sdb\`) frees it and
Talos provisions the volume. The commands wait for each volume, 10 minutes at most:

\`\`\`sh
{{#each userVolumes}}
{{{this}}}
{{/each}}
\`\`\`
{{/if}}
{{#each steps}}

## {{{number}}}. {{{title}}}
{{> step}}
{{/each}}
{{#if gitops}}

## Watching the platform converge

Argo CD syncs the Applications wave by wave (\`charts/platform\`); each waits for the one before
to be healthy. The cluster is up when every Application is \`Synced\` and \`Healthy\`. The first
\`wait\` lets the root Application create the others: it is \`Synced\` only once the last wave
has started, and the other two count only the Applications that exist when they start. Run a
\`wait\` that times out again, the first one included, before the next.

\`\`\`sh
kubectl -n {{shell gitops.namespace}} wait --for=jsonpath='{.status.sync.status}'=Synced application {{shell gitops.root}} --timeout=30m
kubectl -n {{shell gitops.namespace}} wait --for=jsonpath='{.status.sync.status}'=Synced application --all --timeout=30m
{{#if gitops.healthy}}
kubectl -n {{shell gitops.namespace}} wait --for=jsonpath='{.status.health.status}'=Healthy application{{#each gitops.healthy}} {{shell this}}{{/each}} --timeout=30m
{{else}}
kubectl -n {{shell gitops.namespace}} wait --for=jsonpath='{.status.health.status}'=Healthy application --all --timeout=30m
{{/if}}
kubectl -n {{shell gitops.namespace}} get applications -o wide
\`\`\`
{{#each gitops.external}}

\`{{{application}}}\` holds routes ({{{hosts}}}) to workloads you deploy yourself, outside
the platform's charts: until their Services exist, the Gateway finds no backend for them
(\`ResolvedRefs\` False, \`BackendNotFound\`), and Argo CD reads the routes, that Application and
the root Application \`{{{../gitops.root}}}\` \`Degraded\`. The health wait above leaves them out;
they turn \`Healthy\` once the workloads are deployed.
{{/each}}

An Application that stays \`OutOfSync\` or \`Degraded\` names the object in its status:

\`\`\`sh
kubectl -n {{shell gitops.namespace}} get application {{shell gitops.root}} -o jsonpath='{range .status.resources[*]}{.kind}/{.name}: {.status} {.health.status}{"\\n"}{end}'
\`\`\`

A sync of the root Application waits, wave by wave, for each Application it holds to be healthy:
one that stays \`Progressing\` or \`Missing\` (a claim \`Pending\`, a certificate never issued,
its own sync still running: a later wave of its own, a failed sync it retries) keeps it
waiting without failing, and a \`Degraded\` one makes it fail and retry every five
minutes at most. While it waits, Argo CD starts no other sync of the root, so a commit that
changes the root's own objects (an AppProject, a namespace, a new Application) does not reach
the cluster. Once the cause is fixed in Git, end that sync and start one from the latest commit
(Argo CD's automated sync never syncs again the revision of an ended sync):

\`\`\`sh
{{{gitops.restartRoot}}}
\`\`\`
{{/if}}

## In a new shell

Everything below runs in a shell with the variables of steps 1 and 7, often days after the
bootstrap: a new shell has none of them, and \`talosctl\` and \`kubectl\` then fall back to
\`~/.talos/config\` and \`~/.kube/config\`, which may reach another cluster (a wait would
then watch that one). From the repository root, set them first:

\`\`\`sh
export TALOS_DIR="$HOME"/.homelab/{{shell name}}
export TALOSCONFIG="$TALOS_DIR/talosconfig"
export KUBECONFIG="$TALOS_DIR/kubeconfig"
\`\`\`

## Logging in

{{#if login.routes.length}}
Every address below is served by the Gateway over HTTPS{{#if login.provider}}; logins go through {{{login.provider}}}{{/if}}.

| address | component | login |
|---|---|---|
{{#each login.routes}}
| {{{url}}} | {{{component}}} | {{{auth}}} |
{{/each}}
{{else}}
No component publishes an address on this cluster: reach the cluster with \`talosctl\` and
\`kubectl\` (the credentials of step 1).
{{/if}}
{{#each login.steps}}

### {{{title}}}
{{> step}}
{{/each}}
{{#each later}}

## Later: {{{title}}}
{{> step}}
{{/each}}

{{#if firewall}}
## The nodes' firewall

Every node drops new inbound connections that \`controlplane.yaml\` and \`worker.yaml\` do not
allow (\`NetworkDefaultActionConfig\` \`ingress: block\` and \`NetworkRuleConfig\` documents;
\`talos.firewall: false\` in the definition turns it off). The rules (\`NetworkRuleConfig\`
names), and from where each lets connections in:

| rule | ports | from | on |
|---|---|---|---|
{{#each firewall}}
| \`{{{name}}}\` | {{{ports}}} | {{{from}}} | {{{on}}} |
{{/each}}

So from the LAN only apid, the Kubernetes API and the Gateway's ports answer; the ports the
nodes' agents use between them only answer the nodes; the host ports pods reach (metrics
Prometheus scrapes) only answer the pod network and the nodes. Talos itself keeps replies,
ICMP (rate-limited) and loopback open. The rules name every node's address: after adding or
removing a node, apply the role patches to every node (below), or the new node cannot join.
\`talosctl -n <node> get nftableschains -o yaml\` shows the chains a node runs (\`ingress\`,
\`prerouting\`) and \`talosctl -n <node> get machineconfig -o yaml\` the rules it was given.
apid stays open to the LAN, so a wrong rule is fixed by applying corrected patches. If a node
is out of reach altogether (a broken config, a LAN that changed), use its console: the boot
menu's reset entry wipes it back to maintenance mode, where no firewall runs. It is
\`Reset to maintenance mode\` where the node boots with systemd-boot
(UEFI, SecureBoot: Talos installs it there since 1.10), and
\`Reset Talos installation and return to maintenance mode\` where it boots with GRUB (BIOS).
The reset wipes the node's STATE and EPHEMERAL partitions: its configuration and all of \`/var\`,
with a control plane's etcd data and what pods kept on the node's own disk there (replicas of
volumes under \`/var/lib\`).
{{#if loneControlPlane}}
On this cluster's only control plane that is etcd itself, every Kubernetes object with it: the
reset is a rebuild. Before it, try every other way back (the console shows why the node is out
of reach; a LAN that changed can be changed back); after it, {{{resetRebuild}}}.
{{/if}}
{{#unless singleNode}}
{{#if loneControlPlane}}Any other node{{else}}So the node{{/if}} comes back as a replaced one: first remove what it left behind, as "Replacing a
dead node" below says (a control plane's etcd member, from a control plane that is up, and its
Node), then step 5 installs it again.
{{/unless}}

{{/if}}
## Later: renewing the client certificates (every year)

The client certificates in \`talosconfig\` (step 3) and \`kubeconfig\` (step 7) are valid for one
year from the day they were made (Talos' defaults, \`TalosAPIDefaultCertificateValidityDuration\`
and \`KubernetesAdminCertDefaultLifetime\`: 365 days), and nothing renews them: regenerating the
machine configs keeps the old \`talosconfig\` (\`--output-types controlplane,worker\`, below).
Once one has expired, every \`talosctl\` or \`kubectl\` command of this runbook fails with a
certificate error, while the cluster itself runs on. When each expires:

\`\`\`sh
talosctl config info
kubectl config view --raw -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d | openssl x509 -noout -enddate
\`\`\`

A few weeks before, make new ones with the ones you have (\`talosctl config new\` asks the node
for a new admin certificate and refuses to overwrite a file; the kubeconfig comes from the new
\`talosconfig\`):

\`\`\`sh
rm -f "$TALOS_DIR/talosconfig.new"
talosctl -n {{shell first.address}} config new "$TALOS_DIR/talosconfig.new" && mv "$TALOS_DIR/talosconfig.new" "$TALOS_DIR/talosconfig"
talosctl config endpoint{{#each controlPlanes}} {{shell address}}{{/each}}
talosctl config node {{shell first.address}}
talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n {{shell first.address}} --force
\`\`\`

Where \`talosconfig\` has expired already, make it again from the cluster's secrets of step 1,
which signed the first one (only \`talosconfig\` is written), then the kubeconfig as above:

\`\`\`sh
talosctl gen config {{shell name}} {{shell endpoint}} --with-secrets "$TALOS_DIR/secrets.yaml" \\
  --output-types talosconfig --output-dir "$TALOS_DIR" --force
talosctl config endpoint{{#each controlPlanes}} {{shell address}}{{/each}}
talosctl config node {{shell first.address}}
talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n {{shell first.address}} --force
\`\`\`

## Later: rotating the cluster's certificate authorities (after a leak)

Whoever holds a copy of \`talosconfig\` or \`kubeconfig\` administers the cluster until its
certificate expires, and neither Talos nor Kubernetes can revoke one: when one leaked (a lost
laptop, a file sent by mistake), replace the authorities that signed them. \`talosctl rotate-ca\`
does it on the running nodes, without a reboot: first the Talos API's CA (\`talosconfig\`), then
the Kubernetes CA (\`kubeconfig\`, the kubelets, every client of the API server), each in three
rounds: the new CA accepted beside the old one, then issuing, then the old one dropped. It leaves
etcd's CA, the front proxy's CA, the service-account signing key, the cluster's tokens and the
key that encrypts Secrets in etcd as they were: where \`secrets.yaml\` itself leaked, those leaked
with it, and only a cluster made again from new secrets (step 1) replaces them.

Every node must be up and Ready: the rotation checks each before its first change and stops
there otherwise. Do not interrupt it: a node lost midway leaves the cluster between two
authorities, to be mended by hand (\`talosctl edit machineconfig --mode=no-reboot\`: \`machine.ca\`
and \`machine.acceptedCAs\`, or \`cluster.ca\` and \`cluster.acceptedCAs\`, as Talos' CA rotation guide
shows), never by running the command again: each run makes new authorities. talosctl prints the
old and the new authorities' private keys and the new \`talosconfig\`: the blocks keep that
output in files beside \`secrets.yaml\`, in the folder only you can open (step 1), and show its
progress lines; its errors go to the terminal. First check the cluster, and keep copies of the
three files until the end:

\`\`\`sh
talosctl health -n {{shell first.address}} &&
cp "$TALOS_DIR/secrets.yaml" "$TALOS_DIR/secrets.yaml.before-rotation" &&
cp "$TALOS_DIR/talosconfig" "$TALOS_DIR/talosconfig.before-rotation" &&
cp "$TALOS_DIR/kubeconfig" "$TALOS_DIR/kubeconfig.before-rotation"
\`\`\`

The Talos API's authority. talosctl writes the new \`talosconfig\` beside the old one (\`-o\`) once
the rotation finished, and the block installs it only then; it keeps the endpoints and names no
node, which the last commands set again:

\`\`\`sh
talosctl -n {{shell first.address}} rotate-ca --talos=true --kubernetes=false --dry-run=false --with-docs=false --with-examples=false --control-plane-nodes {{shell caRotation.controlPlaneNodes}}{{#if caRotation.workerNodes}} --worker-nodes {{shell caRotation.workerNodes}}{{/if}} -o "$TALOS_DIR/talosconfig.rotated" | tee "$TALOS_DIR/rotate-ca-talos.log" | grep -E '^(> |  ?- )'
grep -q '^> Writing new talosconfig to ' "$TALOS_DIR/rotate-ca-talos.log" &&
mv "$TALOS_DIR/talosconfig.rotated" "$TALOS_DIR/talosconfig" &&
talosctl config endpoint{{#each controlPlanes}} {{shell address}}{{/each}} &&
talosctl config node {{shell first.address}} &&
talosctl -n {{shell caRotation.nodes}} version >/dev/null &&
echo 'every node answers to the new talosconfig'
\`\`\`

Where "Writing new talosconfig" is missing or the \`mv\` fails, \`talosconfig\` is still the old
one: it works as long as the rotation stopped before its second round ("Making new Talos CA the
issuing CA"); after that, the nodes it switched answer only to the \`talosconfig\` printed in
\`rotate-ca-talos.log\` after "Generating new talosconfig", with which to mend them as above:
\`sed -n '/^> Generating new talosconfig:$/,/^> /{/^> /d;p;}' "$TALOS_DIR/rotate-ca-talos.log" >"$TALOS_DIR/talosconfig.recovered"\`,
then \`talosctl --talosconfig "$TALOS_DIR/talosconfig.recovered" -n <node> …\`. A workload's access to the Talos API
(\`kubernetesTalosAPIAccess\`: the etcd snapshots, where they run) gets a certificate of the new CA
from Talos itself, within a minute of the second round.

Then the Kubernetes authority. From its second round on, the API server shows a certificate of
the new CA, which the pods started before do not trust (they read the CA once, at start): the
CNI, the operators and controllers lose the API until they restart, below, while traffic between
pods goes on. Each kubelet and each control plane's static pods restart in each of the three
rounds{{#if singleNode}} (here, on the only node, the API is unreachable for a while each time;
talosctl retries){{/if}}; once the old CA is dropped, each kubelet asks for a new serving
certificate, and \`kubectl logs\` and \`exec\` fail until the approver, restarted below, approves
it. Where "Kubernetes CA rotation done" is missing, fetch the kubeconfig anyway (\`talosctl
kubeconfig\` as below: it comes from the nodes' issuing CA of the moment) to look, and mend
\`cluster.ca\` and \`cluster.acceptedCAs\` on every node by hand as above:

\`\`\`sh
talosctl -n {{shell first.address}} rotate-ca --talos=false --kubernetes=true --dry-run=false --with-docs=false --with-examples=false --control-plane-nodes {{shell caRotation.controlPlaneNodes}}{{#if caRotation.workerNodes}} --worker-nodes {{shell caRotation.workerNodes}}{{/if}} | tee "$TALOS_DIR/rotate-ca-kubernetes.log" | grep -E '^(> |  ?- )'
grep -q '^> Kubernetes CA rotation done' "$TALOS_DIR/rotate-ca-kubernetes.log" &&
talosctl kubeconfig "$TALOS_DIR/kubeconfig" -n {{shell first.address}} --force &&
kubectl get nodes
\`\`\`

Then restart the pods onto the new CA, a namespace at a time: its DaemonSets first (the CNI's
agents, a storage driver's node plugins), a wait for each, then its Deployments and StatefulSets
and a wait for each. Pods none of them manages stay as they are (a CronJob's next
Job starts with the new CA). First kube-system, where the CNI runs (every new pod needs it), and
the kubelet serving certificate approver, then a wait until every kubelet serves again:

\`\`\`sh
for ns in{{#each caRotation.first}} {{shell this}}{{/each}}; do
  for kinds in daemonsets deployments,statefulsets; do
    for workload in $(kubectl -n "$ns" get "$kinds" -o name); do kubectl -n "$ns" rollout restart "$workload"; done
    for workload in $(kubectl -n "$ns" get "$kinds" -o name); do kubectl -n "$ns" rollout status "$workload" --timeout=10m || echo "$ns $workload did not roll out: see kubectl -n $ns describe $workload" >&2; done
  done
done
{{{caRotation.kubeletsServe}}}
\`\`\`

Then {{#if caRotation.ordered.length}}the Applications' namespaces, in the order Argo CD syncs them (a provider before its
consumers: the storage before the workloads whose volumes it attaches), and every other
namespace after them{{else}}every other namespace{{/if}}{{#if afterReboot}}; then the components' own waits, as after a node's
reboot{{/if}}:

\`\`\`sh
for ns in{{#each caRotation.ordered}} {{shell this}}{{/each}} $(kubectl get namespaces -o name | sed 's|^namespace/||' | grep -vxF{{#each caRotation.done}} -e {{shell this}}{{/each}}); do
  for kinds in daemonsets deployments,statefulsets; do
    for workload in $(kubectl -n "$ns" get "$kinds" -o name); do kubectl -n "$ns" rollout restart "$workload"; done
    for workload in $(kubectl -n "$ns" get "$kinds" -o name); do kubectl -n "$ns" rollout status "$workload" --timeout=10m || echo "$ns $workload did not roll out: see kubectl -n $ns describe $workload" >&2; done
  done
done
{{#if afterReboot}}
{{{afterReboot.commands}}}
{{/if}}
\`\`\`

Last, \`secrets.yaml\`: the one of step 1 still holds the old authorities, and every command of
this runbook that makes configs from it (changing Talos settings, adding a node, a new
\`talosconfig\`) would give the nodes the old ones back: they would refuse the new \`talosconfig\`,
and their kubelets the API server. Make it again from a control plane's running config, which
holds the new authorities with their keys and every other secret as it was (\`--force\` replaces
the old file, kept as \`secrets.yaml.before-rotation\`):

\`\`\`sh
talosctl -n {{shell first.address}} get machineconfig v1alpha1 -o jsonpath='{.spec}' >"$TALOS_DIR/controlplane.running.yaml"
talosctl gen secrets --from-controlplane-config "$TALOS_DIR/controlplane.running.yaml" -o "$TALOS_DIR/secrets.yaml" --force
rm -f "$TALOS_DIR/controlplane.running.yaml"
\`\`\`

Check it: the configs made from it with this cluster's patches are what each node runs. Each node
prints \`same\`, or the names of the fields its dry run finds different (\`-\` what it runs, \`+\`
what it would get), never their values: talosctl prints a dry run's difference (on its error
output) with the lines around it, tokens and keys among them. A difference in \`crt\` or \`key\`
means this \`secrets.yaml\` does not hold the new authorities: put \`secrets.yaml.before-rotation\`
aside and look; one elsewhere is a change of the definition not applied yet, which "Later:
changing Talos settings" applies:

\`\`\`sh
{{> genConfig}}
  --output-types controlplane,worker \\
  --output-dir "$TALOS_DIR" --force
{{#each upgradeOrder}}
echo {{shell hostname}}:
talosctl apply-config -n {{shell address}} -f "$TALOS_DIR"/{{shell configFile}} --config-patch {{shell patchArg}} --dry-run 2>&1 | sed -n -e 's/^No changes\\.$/  same/p' -e 's/^\\([-+]\\) *\\([A-Za-z0-9_]*\\):.*/  \\1 \\2/p' -e '/rror/p'
{{/each}}
\`\`\`

Then put this \`secrets.yaml\` in your password manager in place of the old one, give the new
\`talosconfig\` to whoever else uses the Talos API and a new kubeconfig to whoever uses the
cluster's (the old ones no longer work), and delete the copies and logs, which hold the old and
the new authorities' keys:

\`\`\`sh
rm -f "$TALOS_DIR/secrets.yaml.before-rotation" "$TALOS_DIR/talosconfig.before-rotation" "$TALOS_DIR/kubeconfig.before-rotation" "$TALOS_DIR/rotate-ca-talos.log" "$TALOS_DIR/rotate-ca-kubernetes.log"
\`\`\`

## Later: changing Talos settings

After \`{{{build}}}\` changed these patches, regenerate the machine configs (step 3, but only
them: \`--output-types controlplane,worker\` keeps \`talosconfig\`, whose endpoints step 6 set,
which \`--force\` would otherwise overwrite) and apply them, now at the nodes' static addresses
and without \`--insecure\`. First what applies without a reboot, on every node: Talos refuses
\`--mode=no-reboot\` on a node whose change needs a reboot, and changes nothing there.
{{#if later}}
A component that reads a node's settings only once (a storage component and the node's disks)
says in its own "Later" section above what to run before these commands and after them.
{{/if}}

\`\`\`sh
{{> genConfig}}
  --output-types controlplane,worker \\
  --output-dir "$TALOS_DIR" --force
{{#each upgradeOrder}}
talosctl apply-config -n {{shell address}} -f "$TALOS_DIR"/{{shell configFile}} --config-patch {{shell patchArg}} --mode=no-reboot
{{/each}}
\`\`\`

{{#if singleNode}}
If the node refused, it needs a reboot for its change: stage the config and reboot it
(\`talosctl reboot\` returns once the node is back; the Kubernetes API and every workload are
down meanwhile, as the cluster has one node and one etcd member):
{{else}}
A node that refused needs a reboot for its change. Never let Talos reboot the nodes together
(\`--mode=auto\` on every node would, and the control planes would lose etcd's quorum): stage
the config on each such node and reboot it alone, the control planes first, waiting for the
cluster to be healthy before the next (\`talosctl reboot\` returns once the node is back).{{#unless singleControlPlane}}
A control plane's block checks the cluster's health again right before its drain (\`talosctl
health\`, etcd's members among its checks): Talos checks nothing before a reboot, and a control
plane rebooted while another member is unhealthy leaves etcd without a quorum.{{/unless}}
Drain the node first: Talos drains a node before an upgrade or a shutdown, never before a
reboot, which stops its pods where they are (nothing starts them elsewhere until Kubernetes
evicts them from the unreachable node, 5 minutes later). \`kubectl drain\` waits up to 5 minutes
for the PodDisruptionBudgets, as Talos' own drain does; the reboot is chained to it with \`&&\`,
so a drain that gives up stops it: then see "When a drain gives up" below. Uncordon the node once
it is back (Talos uncordons only a node it cordoned itself), before \`talosctl health\` (its checks
wait for every node to be schedulable and fail after 5 minutes while one is cordoned) and before
waiting for what runs on it:
{{/if}}
{{> afterReboot}}
{{> loneReboot}}
{{> beforeDrain}}
{{> oneNodeAtATime}}
{{#each upgradeOrder}}

{{> nodeBlockHeading}}

\`\`\`sh
talosctl apply-config -n {{shell address}} -f "$TALOS_DIR"/{{shell configFile}} --config-patch {{shell patchArg}} --mode=staged
{{#if healthFirst}}
talosctl health -n {{shell ../first.address}} &&
{{/if}}
{{#if beforeDrain}}
kubectl cordon {{shell hostname}}{{#if healthFirst}} &&{{/if}}
{{{beforeDrain.commands}}}
{{/if}}
{{#if ../loneReboot}}
kubectl cordon {{shell hostname}} &&
{{{../loneReboot.commands}}} &&
talosctl reboot -n {{shell address}} ||
  { kubectl uncordon {{shell hostname}}; echo 'no reboot: read the error above, then run this block again' >&2; false; } &&
{{{../loneReboot.uncordon}}} &&
{{else}}
{{#unless ../singleNode}}
{{#if healthFirst}}
{{#if beforeDrain}}
[ "$(kubectl get node {{shell hostname}} -o jsonpath='{.spec.unschedulable}')" = true ] &&
{{/if}}
{{/if}}
kubectl drain {{shell hostname}} --ignore-daemonsets --delete-emptydir-data --timeout=5m &&
{{/unless}}
talosctl reboot -n {{shell address}}{{#unless ../singleNode}} &&{{/unless}}
{{#unless ../singleNode}}
kubectl uncordon {{shell hostname}} &&
{{/unless}}
{{/if}}
talosctl health -n {{shell ../first.address}}
{{#if ../afterReboot}}
{{{../afterReboot.commands}}}
{{/if}}
\`\`\`
{{/each}}

## Upgrades

\`{{{build}}}\` compares the definition with what the last build wrote for this cluster and refuses
what the running cluster cannot take: another pod or service network, a Kubernetes minor release
back or one skipped, and a Talos release that does not install over the one it runs or an earlier
minor one (\`--allow-immutable-changes\` builds it anyway, for a cluster rebuilt from scratch).

### Talos

Change \`talos.version\` (or \`talos.extensions\` or the components, when the extensions change) in the definition, run
\`{{{build}}}\` and commit: the patches and this runbook then name the new installer image. Talos
tests its upgrades between adjacent minor releases only{{#if talos.upgradeFrom}} (its installer of {{talos.line}} refuses a node
on a release older than {{talos.upgradeFrom}}, and so does the build){{/if}}: go through the latest patch release
of every minor release in between.
{{#if singleNode}}
The cluster has one node, its only etcd member: there is no quorum to keep (Talos 1.12's
pre-upgrade etcd check passes with one healthy member; an upgrade through Talos 1.13's
LifecycleService runs none), but the Kubernetes API and every workload are down
until the node is back. An upgrade does not change the Kubernetes version.
{{#if lifecycleUpgrade}}
\`talosctl\` {{talos.line}} upgrades a node on Talos 1.13 or later through the LifecycleService: it
installs the new release first, then cordons and drains the node itself and reboots it only
once the drain succeeded (uncordoning it after). On one node nothing can take the evicted pods,
and a pod a PodDisruptionBudget protects (Longhorn's instance manager while a volume is
attached) holds the drain until it fails after 5 minutes: no reboot, and the node left cordoned.
The block therefore upgrades with \`--drain=false\`{{#if loneReboot}}, once it stopped what must not be stopped in the
middle of its writes (below){{else}}: the reboot stops every pod where it runs{{/if}}. A node still on Talos 1.12 (the upgrade to
{{talos.line}}) is upgraded the old way: Talos cordons it, evicts what it can for up to 5 minutes,
upgrades anyway and uncordons it once it booted{{#if loneReboot}} (here the block cordoned it
first, and uncordons it itself){{/if}}. Should \`talosctl upgrade\` fail, the block
uncordons the node, says so and stops before the health check: read talosctl's error, fix
what it names and run the block again.
{{else}}
Talos cordons the node and evicts its pods first; nothing can take them, and a pod
a PodDisruptionBudget still protects holds the drain until Talos stops waiting, after 5 minutes,
and upgrades anyway. Talos uncordons the node once it booted{{#if loneReboot}} only when it cordoned it itself: here
the block cordoned it first, and uncordons it itself{{/if}}.
{{/if}}
{{else}}
{{#if singleControlPlane}}
Upgrade one node at a time, the control plane first (its etcd has one member: the Kubernetes API
is down while it reboots, and there is no quorum to keep), and wait for the cluster to be healthy
before the next node. An upgrade does not change the Kubernetes version.
{{else}}
{{#if twoControlPlanes}}
Upgrade one node at a time, the control planes first, and wait for the cluster to be healthy
before the next node. An upgrade does not change the Kubernetes version. etcd has two members
and a quorum needs both: while either control plane reboots, etcd stops and the Kubernetes API is
down until it is back. Talos 1.12 refuses to upgrade a member of a two-member etcd (\`etcd member
count(2) is insufficient to maintain quorum if upgrade commences\`), so a control plane's block
checks the cluster's health itself first and upgrades with \`--force\`, which skips only Talos'
own etcd checks (a third control plane would make them pass, and keep the API up).
{{#if lifecycleUpgrade}}
An upgrade through Talos 1.13's LifecycleService (a node on 1.13 already) runs no etcd check at
all, and \`talosctl\` {{talos.line}} then warns that \`--force\` is deprecated and leaves it unused:
the block's own health check is the only one.
{{/if}}
{{else}}
Upgrade one node at a time, the control planes first (etcd keeps its quorum while one member
reboots), and wait for the cluster to be healthy before the next node. An upgrade does not
change the Kubernetes version. A control plane's block checks the cluster's health first
(\`talosctl health\`, etcd's members among its checks), right before its drain: the last block's
check may be an hour old by then, and a control plane rebooted while another member is unhealthy
leaves etcd without a quorum and the Kubernetes API down.{{#if lifecycleUpgrade}} Talos 1.12 checks etcd itself before it upgrades
a control plane; an upgrade through Talos 1.13's LifecycleService (a node on 1.13 already) does not.{{/if}}
{{/if}}
{{/if}}
Each block drains the node with \`kubectl drain\` before \`talosctl upgrade\`.
{{#if lifecycleUpgrade}}
\`talosctl\` {{talos.line}} upgrading a node on Talos 1.13 or later installs the new release, then
drains the node again itself (nothing is left to evict by then), reboots it and uncordons it;
its drain fails after 5 minutes as \`kubectl drain\` does (no reboot, the node left cordoned),
but the new release is installed already and boots at the node's next reboot, whatever causes it:
finish the upgrade (run its block again once the drain can succeed) or \`talosctl rollback\` before
anything reboots the node, and do not stage another change on it meanwhile. A
node still on Talos 1.12 (the upgrade to {{talos.line}}) is upgraded the old way: Talos drains it
too, but that drain never fails: it stops waiting on the PodDisruptionBudgets after 5 minutes,
logs the pods it could not evict, stops every pod and upgrades. \`kubectl drain\`
{{else}}
Talos drains it
too, but its drain never fails: it stops waiting on the PodDisruptionBudgets after 5 minutes,
logs the pods it could not evict, stops every pod and upgrades (\`DrainTimeout\`; a Longhorn
instance manager still holding a volume's last healthy replica included). \`kubectl drain\`
{{/if}}
waits as long and then fails, and the upgrade, the uncordon and the health check are chained to
it with \`&&\` (a pasted block runs every line whatever the one before did), so a drain that
gives up stops the upgrade ("When a drain gives up", below). The node is uncordoned once it is
back (Talos uncordons only a node it cordoned itself), before \`talosctl health\`: its checks
wait for every node to be schedulable and fail after 5 minutes while one is cordoned.
{{/if}}
{{> afterReboot}}
{{> loneReboot}}
{{> beforeDrain}}
{{> oneNodeAtATime}}
{{#each upgradeOrder}}

{{> nodeBlockHeading}}

\`\`\`sh
{{#if healthFirst}}
talosctl health -n {{shell ../first.address}} &&
{{/if}}
{{#if beforeDrain}}
kubectl cordon {{shell hostname}}{{#if healthFirst}} &&{{/if}}
{{{beforeDrain.commands}}}
{{/if}}
{{#unless ../singleNode}}
{{#if healthFirst}}
{{#if beforeDrain}}
[ "$(kubectl get node {{shell hostname}} -o jsonpath='{.spec.unschedulable}')" = true ] &&
{{/if}}
{{/if}}
kubectl drain {{shell hostname}} --ignore-daemonsets --delete-emptydir-data --timeout=5m &&
{{/unless}}
{{#if ../loneReboot}}
kubectl cordon {{shell hostname}} &&
{{{../loneReboot.commands}}} &&
talosctl upgrade -n {{shell address}} --image {{shell ../installImage}}{{#if ../lifecycleUpgrade}} --drain=false{{/if}} ||
  { kubectl uncordon {{shell hostname}}; echo 'no upgrade: read the error above, then run this block again' >&2; false; } &&
{{{../loneReboot.uncordon}}} &&
{{else}}
{{#if ../singleNodeLifecycleUpgrade}}
talosctl upgrade -n {{shell address}} --image {{shell ../installImage}} --drain=false ||
  { kubectl uncordon {{shell hostname}}; echo 'talosctl upgrade failed: read its error above, then run this block again' >&2; false; } &&
{{else}}
talosctl upgrade -n {{shell address}} --image {{shell ../installImage}}{{#if forceUpgrade}} --force{{/if}}{{#unless ../singleNode}} &&{{/unless}}
{{/if}}
{{/if}}
{{#unless ../singleNode}}
kubectl uncordon {{shell hostname}} &&
{{/unless}}
talosctl health -n {{shell ../first.address}}
{{#if ../afterReboot}}
{{{../afterReboot.commands}}}
{{/if}}
\`\`\`
{{/each}}

### Kubernetes

Change the cluster's \`kubernetes.version\` (\`clusters[].kubernetes.version\`) in the definition
(one minor release at a time, within the Talos support matrix), run \`{{{build}}}\` and commit;
then let Talos roll the control plane and the kubelets to the version this runbook names,
through one control plane (it upgrades every node). Run the dry run first, in its own block, and
read it: it shows what the upgrade would change (each component's image, the bootstrap manifests'
differences) and fails on what the new release removed and the cluster still uses (kubelet and
control-plane flags, feature gates, API versions). It does not list the deprecated APIs clients
still ask for: the API server's \`apiserver_requested_deprecated_apis\` metric does (the second
command: the versions asked of the API server that answers since it started, each with the
release that removes it). Do this before any \`apply-config\` of that build ("Later: changing
Talos settings", "Adding a node"): the machine configs it regenerates name the new release's
images, and Talos applies them without a reboot, so every API server, controller manager,
scheduler and kubelet would move at once, without \`upgrade-k8s\`' checks and node-by-node order
(and a node added meanwhile would run a kubelet newer than the API server).

\`\`\`sh
talosctl -n {{shell first.address}} upgrade-k8s --to {{shell kubernetesVersion}} --dry-run
kubectl get --raw /metrics | grep '^apiserver_requested_deprecated_apis'
\`\`\`

Then the upgrade itself:

\`\`\`sh
talosctl -n {{shell first.address}} upgrade-k8s --to {{shell kubernetesVersion}}
kubectl get nodes -o wide
\`\`\`

### Platform charts

Charts and CRD bundles change only through Git: bump the pinned version in the component (or
merge the Renovate pull request), then build (the \`homelab\` command reads the pins compiled by
the build), vendor what the new pins ask for (the tests and CI's \`homelab vendor verify\` read
\`vendor/\` only), record the chart versions and check, then commit the pin with what it
changed{{#if gitops}} and push{{/if}}:

\`\`\`sh
{{{build}}}
pnpm homelab vendor sync
pnpm homelab vendor verify
pnpm homelab changeset{{{configOption}}}
pnpm homelab check{{{configOption}}}
git add packages charts clusters vendor .changeset && git commit{{#if gitops}} && git push{{/if}}
\`\`\`

{{#if gitops}}
Argo CD syncs the change once it is on \`{{{gitops.revision}}}\`, the revision the root
Application of this cluster follows (the environment's \`repository.targetRevision\`; "Moving
this cluster to another revision" below); watch it converge as above.

A commit that enables or disables a component adds or removes an Application, and with it one of
the root Application's Helm parameters (each Application of the platform repository gets the
root's revision through one), which nothing in Git changes: once such a commit is on
\`{{{gitops.revision}}}\`, apply the root again (\`kubectl apply -f {{{gitops.rootFile}}}\`).
Without it a new Application follows the revision its values name instead of the root's, and a
removed one leaves a parameter Helm turns into an object without a kind, which the chart's schema
refuses: the root stops rendering, and nothing syncs through it, the removal included.
{{#if removal.kept.length}}

The critical Applications sync with \`Prune=false\`: what a new release no longer renders keeps
running, and the Application stays \`OutOfSync\` (the \`Synced\` wait above times out on it)
with the object marked \`requiresPruning\`. List those objects, check that each is no longer
needed, and delete it by hand (\`kubectl delete <kind> <name>\`, with \`-n <namespace>\` for a
namespaced one):

\`\`\`sh
{{#each removal.kept}}
kubectl -n {{shell ../gitops.namespace}} get application {{shell this}} -o jsonpath='{range .status.resources[*]}{.requiresPruning}{" "}{.kind}/{.namespace}/{.name}{"\\n"}{end}' | grep '^true '
{{/each}}
\`\`\`
{{/if}}
{{else}}
No GitOps controller runs on this cluster: apply the changed charts with the commands of the
install steps above.
{{/if}}
{{#if gitops}}

### Moving this cluster to another revision

The root Application \`{{{gitops.root}}}\` renders \`charts/platform\` at \`{{{gitops.revision}}}\`
(\`repository.targetRevision.{{{environment}}}\` in the definition: a branch, a tag or a commit)
and passes that revision to every Application of the platform repository (the Helm parameter
\`$ARGOCD_APP_SOURCE_TARGET_REVISION\`, which Argo CD replaces with the root's own revision): the
whole platform follows one revision. A tag holds; on a branch, every Application follows the
branch. Nothing in Git changes the root's own revision (no Application manages the root), so moving it is done by
hand: set the environment's revision in the definition (any tag, branch or commit the repository
has), build, commit and push, then apply the root again and check the revision it follows and the
commit it deploys. A release (\`pnpm release\`, the release workflow) tags \`<package>@<version>\`
on its commit for each chart whose version moved, and only those: the newest release of a change
to one chart carries that chart's tag alone (\`@homelab/chart-platform@…\` moves only when the
Applications themselves change), so pick the commit, then any of its tags (\`git tag --points-at
<commit>\`).

The root's Helm parameters come from the definition you build, one per Application it enables
here, but they set keys of \`charts/platform\` as committed at the revision. Where the revision
enables other components on this cluster than the definition does (a pin moved back across the
commit that enabled or disabled one), a parameter for an Application the revision lacks makes the
chart's schema refuse the root's render (nothing syncs), and an Application of the revision without
a parameter follows the revision its committed values name. So the \`diff\` below compares them
with the revision's own root file (made by the same build as its chart) and applies the root only
where they match (for a branch, \`git show\` reads your local branch of that name: pull it first
when it is not the one you just pushed, or the \`diff\` compares with an older root file).
Build, commit, push and fetch the tags in one list of commands chained with \`&&\` (\`git commit\`
opens your editor for the message, and \`git push\` or \`git fetch\` may ask for credentials or an
SSH host key: each reads the terminal, so the list ends its block, and a step that fails stops
the ones after it), then compare:

\`\`\`sh
{{{build}}} &&
git add {{#if definitionFile}}{{shell definitionFile}} {{/if}}charts clusters &&
git commit &&
git push &&
git fetch origin --tags
\`\`\`

\`\`\`sh
diff <(git show {{shell gitops.revisionRootFile}} | grep -o 'manifests\\.[a-z0-9-]*\\.spec\\.source\\.targetRevision') <(grep -o 'manifests\\.[a-z0-9-]*\\.spec\\.source\\.targetRevision' {{shell gitops.rootFile}}) && kubectl apply -f {{shell gitops.rootFile}}
kubectl -n {{shell gitops.namespace}} get application {{shell gitops.root}} -o jsonpath='{.spec.source.targetRevision} {.status.sync.revision}{"\\n"}'
\`\`\`

Where \`diff\` prints a difference it applies nothing: apply the revision's own root instead, with
the revision put in its \`targetRevision\` (a root file without parameters predates them: its
Applications follow the revision their values name):

\`\`\`sh
git show {{shell gitops.revisionRootFile}} | sed {{shell gitops.revisionSed}} | kubectl apply -f -
\`\`\`

Every Application but the CRD bundles (each pinned to its upstream release) then shows the same
revision in \`.spec.source.targetRevision\` and, once synced, the same commit in
\`.status.sync.revision\`.

### Going back

The way back is Git too. On a branch, revert the commit (\`git revert <commit>\`, build, check,
commit and push, as for a change: "Platform charts" above) and Argo CD syncs the revert; pinned
to a tag or a commit, move the pin back to the previous one as above. Not \`argocd app
rollback\`: Argo CD refuses it while an Application syncs automatically ("rollback cannot be
initiated when auto-sync is enabled"), and every Application here does; nor \`kubectl edit\` or
\`kubectl rollout undo\` on what an Application deploys: with self-heal
Argo CD applies the revision's objects again at its next comparison, and a child Application
patched by hand (its automated sync removed) is put back the same way by the root, which applies
it. What a revert removes is pruned, except by the critical Applications (\`Prune=false\`:
"Platform charts" above lists what they keep); a volume's data written since stays as it is
{{#if disasterRecovery}}(restoring it is \`disaster-recovery.md\`){{else}}(no backup component runs on this cluster: nothing restores it){{/if}}.
{{#each removal.oneWay}}

The {{{description}}} (\`{{{application}}}\`) cannot go back below {{{floor}}} on
this cluster: {{{why}}}. \`homelab build\` refuses a revert that would take it there
(\`crd-bundle-downgrade\`); a pin moved back to a revision built with an older bundle is not
checked, and that Application's sync fails there without end. To go back anyway, once Argo CD has
the revision, run:

\`\`\`sh
{{{undo}}}
\`\`\`

Its sync retries then apply the older bundle.
{{/each}}
{{/if}}

## When a drain gives up

\`kubectl drain\` in a node's block ({{#if singleNode}}a retirement: the one node's reboot and Talos upgrade blocks drain nothing{{else}}a reboot, a Talos upgrade, a retirement{{/if}}) evicts the node's
pods through their PodDisruptionBudgets and fails after 5 minutes (\`global timeout reached\`)
while a budget still refuses an eviction. What follows it in the block up to the uncordon (or
the Node's deletion) is chained to it with \`&&\` and does not run: the node stays cordoned,
nothing on it has stopped but the pods already evicted, and there was no reboot, upgrade or reset
(the waits after the chain still run, and end once what they wait for is back). Do not go on to
the next node. Set \`NODE\` to the node's hostname, find what holds the drain and free it, then run
the rest of the block again from its \`kubectl drain\` line (the drain lists the pods it still
waits for; \`ALLOWED DISRUPTIONS\` 0 is a budget that holds):

\`\`\`sh
: "\${NODE:?set it to the hostname of the node whose drain gave up}" &&
kubectl get pods -A --field-selector spec.nodeName="$NODE" -o wide
kubectl get pdb -A
\`\`\`
{{#each drainHeld}}

{{{reason}}}

\`\`\`sh
{{{commands}}}
\`\`\`
{{/each}}

Never force a drain (\`--disable-eviction\`, or deleting the pods a budget protects): a budget
holds what the cluster cannot lose yet.

## When etcd's database fills or fragments

etcd's database file never shrinks by itself: what compaction frees stays in it as free pages.
Talos runs etcd with etcd's default space quota (2 GiB) and never defragments it; a database
that reaches the quota raises etcd's \`NOSPACE\` alarm, and etcd then refuses every write, the
API server's with it. Where monitoring runs, \`etcdDatabaseHighFragmentationRatio\` and
\`etcdDatabaseQuotaLowSpace\` say when. Defragmenting a member releases its free pages and blocks
that member while it runs: one control plane at a time{{#if singleControlPlane}} (etcd's only member
here: the API server waits while it runs){{else}}, each handing its leadership on first (\`etcd
forfeit-leadership\` moves it to another member, and does nothing on a member that does not lead;
\`etcd status\` shows each member's database size and which one leads){{/if}}. Then clear an alarm
that was raised:

\`\`\`sh
talosctl -n {{#each controlPlanes}}{{#unless @first}},{{/unless}}{{shell address}}{{/each}} etcd status
{{#each controlPlanes}}
{{#if ../singleControlPlane}}
talosctl -n {{shell address}} etcd defrag
{{else}}
talosctl -n {{shell address}} etcd forfeit-leadership && talosctl -n {{shell address}} etcd defrag
{{/if}}
{{/each}}
talosctl -n {{shell first.address}} etcd alarm list
talosctl -n {{shell first.address}} etcd alarm disarm
\`\`\`

## Nodes: adding, retiring, replacing

{{#if singleNode}}
The cluster has one node, its only control plane and etcd member. It can take more nodes
(below), but its node can be neither retired nor replaced: without it, etcd and every
Kubernetes object are gone. When it dies, {{{rebuild}}}.

{{/if}}
Nodes come and go through the cluster's \`nodes\` in {{{definition}}}: \`{{{build}}}\` writes a
node's patch (\`{{{dir}}}/nodes/<hostname>.yaml\`) and its steps below. Run them in the shell of
step 1, with the kubeconfig of step 7:

\`\`\`sh
export TALOS_DIR="$HOME"/.homelab/{{shell name}}
export TALOSCONFIG="$TALOS_DIR/talosconfig"
export KUBECONFIG="$TALOS_DIR/kubeconfig"
\`\`\`

### Adding a node

Add the node to the definition, run \`{{{build}}}\` and commit: this runbook then lists it, with
its patch. When the build changed \`controlplane.yaml\` or \`worker.yaml\` too (the first worker
of a cluster, for one, takes the workloads off the control planes{{#if firewall}}; with the nodes'
firewall, always: its rules list every node's address, and the running nodes drop the new
node's trustd, etcd, kubelet and tunnel connections until they have the new rules{{/if}}), apply
them to the running nodes first ("Later: changing Talos settings"). Regenerate the machine
configs from the current patches (as there: only them, keeping \`talosconfig\`):

\`\`\`sh
{{> genConfig}}
  --output-types controlplane,worker \\
  --output-dir "$TALOS_DIR" --force
\`\`\`

Boot the new machine from the cluster's image (\`{{{schematic.iso}}}\`{{#if secureBoot}}, in
Secure Boot setup mode as step 2 says{{/if}}), find its DHCP address and check its link and
its install disk as in step 4 (Talos wipes the disk its patch names: each node's block says
what \`get links\` and \`get disks\` must show), and apply its role's config with its patch as in step 5: it installs Talos, reboots
and comes back at its static address. A control plane joins etcd by itself: Talos adds it as a
learner member through the running control planes and promotes it once it has caught up (never
run \`talosctl bootstrap\` again: step 6 is once); \`talosctl etcd members\` lists it, with
\`LEARNER\` \`false\` once promoted, and \`talosctl config endpoint\` adds it to the endpoints
\`talosctl\` uses. Then wait for its Node to be \`Ready\`, and for what the components need of it.
{{#if singleNode}}
Once the definition lists the new node, its steps are here.
{{/if}}
{{#each lifecycle}}
{{#if peer}}

**{{{hostname}}}** ({{{role}}}, {{{address}}}): in \`get links\` look for {{{identify}}}; in
\`get disks\` the install disk is {{{installDiskCheck}}}{{#if joined}}. Then the components wait for

{{#each joined.reasons}}
- {{{this}}}
{{/each}}
{{else}}.
{{/if}}

\`\`\`sh
export {{shellVar dhcpVar}}=
talosctl -n "\${ {{~shellVar dhcpVar~}} :?set it to the address the node got from DHCP}" get links --insecure -o yaml
talosctl -n "\${ {{~shellVar dhcpVar~}} :?set it to the address the node got from DHCP}" get disks --insecure -o yaml
\`\`\`

Only where both show that, apply its config:

\`\`\`sh
talosctl apply-config --insecure -n "\${ {{~shellVar dhcpVar~}} :?set it to the address the node got from DHCP}" -f "$TALOS_DIR"/{{shell configFile}} --config-patch {{shell patchArg}}
kubectl wait --for=create node/{{shell hostname}} --timeout=30m
kubectl wait --for=condition=Ready node/{{shell hostname}} --timeout=30m
{{#if controlPlane}}
talosctl -n {{shell peer}} etcd members
talosctl config endpoint{{#each ../controlPlanes}} {{shell address}}{{/each}}
{{/if}}
talosctl health -n {{shell peer}}
{{#if joined}}
{{{joined.commands}}}
{{/if}}
\`\`\`
{{/if}}
{{/each}}

### Retiring a node

{{#if singleNode}}
The cluster's only node cannot be retired (above).
{{else}}
Retire a node with its block below while the definition still lists it, then remove it from
the definition, build and commit; a node already removed from the definition retires with
"Retiring a node no longer in the definition" below. One node at a time: cordon it, let the
components move away what they keep on it (and wait until nothing is left), drain it
(\`kubectl drain\` waits up to 5 minutes on the PodDisruptionBudgets), reset it, and delete its
Node once it is down (earlier, its kubelet would register it again). Each block is one chain
(\`&&\`): a check or a wait of the components that gives up stops it before the drain, and a
drain that gives up stops the reset and the Node's deletion ("When a drain gives up").
\`talosctl reset\` is graceful by default (\`--graceful\`): Talos cordons and drains the node again and a control
plane leaves etcd (it removes its own member and deletes its etcd data), then Talos wipes the
system disk and powers the machine off; data disks keep their partitions unless
\`--user-disks-to-wipe\` names them.
{{#if singleControlPlane}}
The cluster has one control plane, its only etcd member: it cannot be retired this way (only
workers can), as the cluster has no control plane without it.
{{else}}
A control plane leaves etcd with its reset, and removing a member needs a quorum of the members:
retire one only while every other member is up and no longer a learner, never two at once,
and never the last. A control plane's block first lists the members from another control plane
and refuses, before anything changed, when the node is not one of them, when a member is a
learner or not started, or when fewer of the other members answer \`talosctl etcd status\` than
the quorum of those that remain. etcd has {{{etcd.members}}} members and
needs {{{etcd.quorum}}} of them up; once one has left, {{{etcd.remaining}}} remain and need
{{{etcd.remainingQuorum}}}{{#if etcd.noTolerance}}: a quorum still, but one more failure stops
the cluster. Where the definition keeps {{{etcd.members}}} control planes (a machine
replaced under a new hostname), add the new one first, then retire the old one{{/if}}.
{{/if}}
{{#each lifecycle}}

**{{{hostname}}}** ({{{role}}}, {{{address}}}){{#if retireRefusal}}: {{{retireRefusal}}}.
{{else}}{{#if retiring}}: before its drain, the components

{{#each retiring.reasons}}
- {{{this}}}
{{/each}}
{{else}}:
{{/if}}

\`\`\`sh
{{#if controlPlane}}
{{> etcdRetireGate member=(shell hostname) name=hostname peer=peer}}
{{/if}}
kubectl cordon {{shell hostname}} &&
{{#if retiring}}
{{{retiring.chained}}}
{{/if}}
kubectl drain {{shell hostname}} --ignore-daemonsets --delete-emptydir-data --timeout=5m &&
talosctl reset -n {{shell address}} --graceful=true &&
{{#if controlPlane}}
talosctl -n {{shell peer}} etcd members &&
talosctl config endpoint{{#each remainingEndpoints}} {{shell this}}{{/each}} &&
{{/if}}
kubectl delete node {{shell hostname}} --timeout=2m
talosctl health -n {{shell peer}}
\`\`\`
{{/if}}
{{/each}}
{{/if}}

### Retiring a node no longer in the definition

Removing a node from {{{definition}}} first (then \`{{{build}}}\` and commit) takes its block
out of this runbook, and neither its patch nor a new machine config touches the running node:
it stays in the cluster, with its Node, its pods and what the components keep on it, until it is
retired with the block below for its role (a worker, or a control plane). Nothing of the
definition's history is needed: set \`NODE\` to its hostname and \`NODE_ADDRESS\` to its address
at the top of the block (\`kubectl get nodes -o wide\` lists both, as \`NAME\` and
\`INTERNAL-IP\`), in the shell of step 1 with the variables above. Each block is one chain
(\`&&\`): it stops at the first check that refuses, before anything changed, and what follows
a drain that gives up does not run ("When a drain gives up": \`NODE\` is already set). It
refuses a hostname or an address of a node the definition still lists (those have their own
blocks above) or the API endpoint's, an address that is not the Node's \`InternalIP\`, and, in
the worker's block, a control plane. Then, as above: cordon, let the components move away what
they keep on it, drain, \`talosctl reset --graceful=true\`, delete the Node.
{{#if removedNode.retiring}}
Before the drain, the components:

{{#each removedNode.retiring.reasons}}
- {{{this}}}
{{/each}}
{{/if}}

A worker:

\`\`\`sh
NODE=
NODE_ADDRESS=
{{> removedNodeChecks}}
if kubectl get node "$NODE" -o jsonpath='{.metadata.labels}' | grep -qF '"node-role.kubernetes.io/control-plane"'; then echo "$NODE is a control plane: retire it with the control plane's block" >&2; false; fi &&
kubectl cordon "$NODE" &&
{{#if removedNode.retiring}}
{{{removedNode.retiring.commands}}}
{{/if}}
kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout=5m &&
talosctl reset -n "$NODE_ADDRESS" --graceful=true &&
kubectl delete node "$NODE" --timeout=2m
talosctl health -n {{shell removedNode.peer}}
\`\`\`

A control plane leaves etcd with its graceful reset (Talos removes its own member, retrying
for 5 minutes while etcd has no quorum, then deletes its etcd data). Removing a member needs a
quorum of the members, and the members that remain need theirs: the block lists the members
from {{{removedNode.peer}}} and refuses when the node is not one of them, when a member is a
learner or not started, or when fewer of the other members answer \`talosctl etcd status\`
than the quorum of those that remain (a majority: the last member is never removed). One
control plane at a time:

\`\`\`sh
NODE=
NODE_ADDRESS=
{{> removedNodeChecks}}
{{> etcdRetireGate member='"$NODE"' name="$NODE" peer=removedNode.peer}}
kubectl cordon "$NODE" &&
{{#if removedNode.retiring}}
{{{removedNode.retiring.commands}}}
{{/if}}
kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout=5m &&
talosctl reset -n "$NODE_ADDRESS" --graceful=true &&
talosctl -n {{shell removedNode.peer}} etcd members &&
talosctl config endpoint{{#each removedNode.endpoints}} {{shell this}}{{/each}} &&
kubectl delete node "$NODE" --timeout=2m
talosctl health -n {{shell removedNode.peer}}
\`\`\`

{{#unless singleNode}}
### A node that is down, until it is back or replaced

A node that stops answering (a dead disk, a power supply) keeps its pods: Kubernetes marks them
\`Terminating\` after 5 minutes but deletes them only once the node's kubelet confirms, which a
dead node never does. A StatefulSet's pod there (Argo CD's application controller, Cilium's SPIRE
server, Prometheus, Alertmanager) is then never started elsewhere, and a volume attached to the
node is not let go (Longhorn lets its own go by itself, its \`nodeDownPodDeletionPolicy\`). Once
you are sure the machine is off, not only out of reach (two copies of a pod writing to one volume
corrupt it), mark its Node out of service: Kubernetes then deletes its pods for good and detaches
its volumes, and their controllers start them on the other nodes. Take the mark off once the
machine is back (until then nothing without a toleration runs on it), or delete the Node when
replacing the machine (below).

\`\`\`sh
export NODE=
kubectl taint nodes "\${NODE:?set it to the hostname of the node that is down}" node.kubernetes.io/out-of-service=nodeshutdown:NoExecute
\`\`\`

Once it is back:

\`\`\`sh
kubectl taint nodes "\${NODE:?set it to the hostname of the node that is back}" node.kubernetes.io/out-of-service=nodeshutdown:NoExecute-
\`\`\`

{{/unless}}
### Replacing a dead node

{{#if singleNode}}
The cluster's only node cannot be replaced (above): rebuild the cluster.
{{else}}
A machine that is gone cannot be reset. Remove what it left behind instead, then add the new
machine as above (a new machine for the same node: change its \`link\`, \`installDisk\` and the
\`selector\` of each of its \`disks\` in the definition where they differ, build and commit: a
data disk selected by the old disk's serial is never found, its user volume never made, and the
storage on it stays missing). A dead control plane's etcd member still counts
towards the quorum: remove it, from a control plane that is up, before the new machine joins
(\`talosctl etcd members\` lists it, find the ID of its hostname). Removing a member needs a
quorum of the members: with a majority of the control planes dead, nothing can be removed, and
the way back is a rebuild ({{#if disasterRecovery}}\`disaster-recovery.md\`{{else}}steps 2 to {{{lastStep}}} with the same \`secrets.yaml\`, a new cluster: no backup component runs here, so etcd's objects and the volumes' data are lost{{/if}}). Delete its
Node before the new machine registers: with the same hostname, deleting it later would delete the
new one. Until Talos' discovery service forgets the dead machine (its entry expires 30 minutes
after its last refresh), \`talosctl health\` may still expect it. Each block is one chain
(\`&&\`) from the member's removal on: a removal etcd refuses leaves the Node alone, and what the
components recover runs only once the Node is gone. Run again after the member was removed,
start at \`kubectl delete node\` (etcd refuses to remove a member twice); the deletion goes on
past a Node deleted already.
{{#each lifecycle}}

**{{{hostname}}}** ({{{role}}}, {{{address}}}){{#if replaceRefusal}}: {{{replaceRefusal}}}.
{{else}}:
{{#if server}}

Its address is the API endpoint, which nothing answers while it is dead: until the new machine
answers there, run every \`kubectl\` below with \`--server {{{server}}}\` (another control plane's
API server, whose certificate names its own address).
{{/if}}
{{#if lost}}

{{#each lost.reasons}}
- {{{this}}}
{{/each}}
{{/if}}

\`\`\`sh
{{#if controlPlane}}
talosctl -n {{shell peer}} etcd members
export ETCD_MEMBER=
talosctl -n {{shell peer}} etcd remove-member "\${ETCD_MEMBER:?set it to the ID etcd members lists for this node}" &&
talosctl -n {{shell peer}} etcd members &&
{{/if}}
kubectl{{#if server}} --server {{shell server}}{{/if}} delete node {{shell hostname}} --ignore-not-found --timeout=2m{{#if lost}} &&
{{{lost.chainedAfter}}}{{/if}}
\`\`\`
{{/if}}
{{/each}}
{{/if}}

{{#if outages.length}}
## When a component is down

Some components block more than themselves while their pods are down. Run each section's first
block when its symptom shows; the second brings the component back; the third is for when it
cannot come back (what keeps it down, such as the CNI, has to be repaired first).
{{#each outages}}

### {{{component}}}

{{{symptom}}}

Is it the cause? ({{{diagnosis}}})

\`\`\`sh
{{{diagnose}}}
\`\`\`

Bring it back and check:

\`\`\`sh
{{{recover}}}
\`\`\`
{{#if lift}}

If it cannot come back, lift what blocks: first turn off the auto-sync of the root Application
and of \`{{{lift.application}}}\` (the root's self-heal would put the Application's back, and the
Application's self-heal would undo the lift at once) and end the sync each may be running (Argo
CD retries a failed sync without end whatever the policy says, and each retry applies the
revision again; the third line of each waits until it ended), then lift it. Then repair what
keeps the component down: through Git (the other Applications sync again) or by hand.

\`\`\`sh
{{{lift.pause}}}
{{{lift.commands}}}
\`\`\`

Once the component runs again (the block "Bring it back and check" passes), sync the
Application, which puts back what was lifted, then restore its auto-sync and the root's (applying
the root Application puts its own back), and sync the root by hand too (Argo CD never syncs again
by itself a revision whose last sync was ended):

\`\`\`sh
kubectl -n {{shell ../gitops.namespace}} patch application {{shell lift.application}} --type merge -p {{shell lift.sync}}
kubectl -n {{shell ../gitops.namespace}} wait --for=jsonpath='{.status.sync.status}'=Synced application {{shell lift.application}} --timeout=10m
{{{lift.verify}}}
{{#if lift.automated}}
kubectl -n {{shell ../gitops.namespace}} patch application {{shell lift.application}} --type merge -p {{shell lift.automated}}
{{/if}}
kubectl apply -f {{shell ../gitops.rootFile}}
kubectl -n {{shell ../gitops.namespace}} patch application {{shell ../gitops.root}} --type merge -p {{shell lift.rootSync}}
kubectl -n {{shell ../gitops.namespace}} wait --for=jsonpath='{.status.sync.status}'=Synced application {{shell ../gitops.root}} --timeout=10m
\`\`\`
{{/if}}
{{/each}}
{{/if}}

## Removing a component on purpose

{{#if removal.critical.length}}
Removing a component from the definition removes its Argo CD Application, and the Application's
finalizer deletes what it deployed. The Applications below are the exception: the cluster cannot
run without them, so they carry no finalizer and sync with \`Prune=false\` and \`Delete=false\`.
{{#if removal.hooks}}
Argo CD itself puts its pre-delete finalizer on an Application whose chart has a Helm
\`pre-delete\` hook ({{{removal.hooks}}}): deleting that Application runs the hook first, and the
Application goes only once the hook succeeded; while the hook refuses to run, Argo CD retries it,
the Application stays in deletion, and what it deployed stays.
{{/if}}
A rename or a removed component leaves what they deployed running; removing it is done by
hand, in this order (consumers first, CRDs last):

| order | Application | component | what it holds |
|---|---|---|---|
{{#each removal.critical}}
| {{{order}}} | \`{{{application}}}\` | {{{component}}} | {{{holds}}} |
{{/each}}

1. Disable every component that needs it first (\`pnpm homelab validate{{{configOption}}}\` names them), then the
   component: \`components.<name>.enabled: false\` in {{{definition}}} (or in the
   cluster's own \`components:\`).
{{#if removal.charts.length}}
2. Before committing, keep the manifests it deployed (the chart's cluster layer is gone after the
   build):

\`\`\`sh
{{#each removal.charts}}
helm dependency update {{shell path}}
helm template {{shell release}} {{shell path}} --namespace {{shell namespace}} --kube-version {{shell kubeVersion}}{{#each valueFiles}} -f {{shell this}}{{/each}} > "$TALOS_DIR"/{{shell saved}}
{{/each}}
\`\`\`
{{#if removal.hooks}}

   Then let the pre-delete hook succeed when Argo CD runs it:
{{#each removal.critical}}
{{#if uninstall}}
   - \`{{{application}}}\`: {{{uninstall.reason}}}.
{{/if}}
{{/each}}

\`\`\`sh
{{#each removal.critical}}
{{#if uninstall}}
{{{uninstall.prepare}}}
{{/if}}
{{/each}}
\`\`\`
{{/if}}
{{else}}
2. Nothing to keep: the critical Applications here are CRD bundles, deleted by name below.
{{/if}}

3. Build, check, commit and push, then apply the root Application again once the commit is on
   \`{{{gitops.revision}}}\` (the removed Application's Helm parameter leaves the root, which Helm
   refuses to render while it names an Application the chart no longer has); Argo CD deletes the
   Application but not what it deployed (\`git commit\` opens your editor for the message and
   \`git push\` may ask for credentials: the first block ends with them, one list of commands
   chained with \`&&\` that stops at the first step that fails; the second applies):

\`\`\`sh
{{{build}}} &&
pnpm homelab check{{{configOption}}} &&
git add {{#if definitionFile}}{{shell definitionFile}} {{/if}}charts clusters &&
git commit &&
git push
\`\`\`

\`\`\`sh
kubectl apply -f {{shell gitops.rootFile}}
\`\`\`

4. Once Argo CD synced the commit, check the Application is gone (delete it by hand where the
   environment does not prune: without a finalizer, that deletes only the Application).
{{#if removal.hooks}}
   One with a pre-delete hook goes once Argo CD ran the hook (\`kubectl delete\` waits, up to
   15 minutes, then fails with what it still waited for; the Application's
   \`.status.conditions\` say why a hook fails); then the hook's checks print nothing.
{{/if}}

\`\`\`sh
{{#each removal.critical}}
kubectl -n {{shell ../gitops.namespace}} get application {{shell application}} -o jsonpath='{.metadata.finalizers}'
kubectl -n {{shell ../gitops.namespace}} delete application {{shell application}} --ignore-not-found --timeout=15m
{{#if uninstall}}
{{{uninstall.verify}}}
{{/if}}
{{/each}}
\`\`\`

5. Delete what it deployed, consumers first: a chart's saved manifests, then a CRD bundle's
   CRDs once no object of their kinds is left (deleting a CRD deletes every object of its kind):
{{#if removal.talosDns}}
   {{{removal.talosDns.components}}} turned Talos' own CoreDNS off in the patches. Before deleting
   {{{removal.talosDns.saved}}}, apply the rebuilt patches ("Later: changing Talos settings"),
   which leave it on: Talos then creates its CoreDNS in \`kube-system\`, and keeps retrying its
   \`kube-dns\` Service until the delete below frees the Service's address. Until Talos' CoreDNS
   is ready, no pod resolves a name (\`kubectl -n kube-system rollout status deployment/coredns\`
   shows when it is).
{{/if}}

\`\`\`sh
{{#each removal.critical}}
{{#if saved}}
kubectl delete --ignore-not-found --timeout=10m -f "$TALOS_DIR"/{{shell saved}}
{{/if}}
{{#if crds}}
{{#each crds.kinds}}
kubectl get {{shell this}} -A
{{/each}}
{{{crds.deletes}}}
{{/if}}
{{/each}}
\`\`\`

{{#if removal.gitops}}
Removing the GitOps controller itself ({{{removal.gitops.component}}}) is done before the commit that
disables it, or the Applications it leaves behind would cascade through their finalizers: keep
its manifests, turn off the root Application's auto-sync (its self-heal would put the finalizers
back) and end the sync it may be running (a failed sync retries without end whatever the policy
says), {{#if gitops.stop}}stop its application controller (it puts back the pre-delete finalizers it adds
itself, and runs the hooks of the Applications it deletes), {{/if}}take the finalizers off every
Application, delete the Applications (the root one included), then the controller; then disable
it in the definition, build and commit.

\`\`\`sh
{{{gitops.pauseRoot}}}
{{#with removal.gitops.chart}}
helm dependency update {{shell path}}
helm template {{shell release}} {{shell path}} --namespace {{shell namespace}} --kube-version {{shell kubeVersion}}{{#each valueFiles}} -f {{shell this}}{{/each}} > "$TALOS_DIR"/{{shell saved}}
{{/with}}
{{#if gitops.stop}}
{{{gitops.stop}}}
{{/if}}
{{#each removal.finalized}}
kubectl -n {{shell ../gitops.namespace}} patch application {{shell this}} --type=merge -p '{"metadata":{"finalizers":null}}'
{{/each}}
kubectl -n {{shell gitops.namespace}} delete applications --all --timeout=15m
{{#with removal.gitops.chart}}
kubectl delete --ignore-not-found --timeout=10m -f "$TALOS_DIR"/{{shell saved}}
{{/with}}
\`\`\`
{{/if}}
{{else}}
{{#if gitops}}
Every Application on this cluster carries the resources finalizer: disable the component in
{{{definition}}}, run \`{{{build}}}\`, commit and push, then, once the commit is on
\`{{{gitops.revision}}}\`, apply the root Application again (its Helm parameters name every
Application: the removed one's would keep the root from rendering); Argo CD deletes what it deployed.
\`git commit\` opens your editor for the message and \`git push\` may ask for credentials: the
first block ends with them, one list of commands chained with \`&&\` that stops at the first step
that fails; the second applies.

\`\`\`sh
{{{build}}} &&
git add {{#if definitionFile}}{{shell definitionFile}} {{/if}}charts clusters &&
git commit &&
git push
\`\`\`

\`\`\`sh
kubectl apply -f {{shell gitops.rootFile}}
\`\`\`
{{else}}
No GitOps controller runs on this cluster: delete what the component's install step applied
with the same command, \`kubectl delete\` instead of \`kubectl apply\`.
{{/if}}
{{/if}}
`;

/** The runbook template; the build precompiles it into dist/runbook-template.cjs. */
export const runbookTemplateSource: TemplateSource = {
  template: RUNBOOK_TEMPLATE,
  options: { noEscape: true, strict: true },
};

/**
 * `{{shell value}}`: one POSIX shell word holding exactly `value`: unquoted when it is plainly
 * safe (`[A-Za-z0-9._/:@%+=,-]+`), otherwise in single quotes with each `'` as `'\''`. Only
 * strings and numbers: anything else is a bug of the view, never an empty word.
 */
export function shellWord(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return shellQuote(String(value));
  if (typeof value !== 'string') {
    throw new TypeError(`{{shell}} needs a string or a number, got ${typeof value}`);
  }
  return shellQuote(value);
}

const VARIABLE = /^[A-Z_][A-Z0-9_]*$/;

/** `{{shellVar name}}`: a shell variable name, refused unless it is `[A-Z_][A-Z0-9_]*`. */
export function shellVariable(value: unknown): string {
  if (typeof value !== 'string' || !VARIABLE.test(value)) {
    throw new TypeError(
      `{{shellVar}} needs a variable name [A-Z_][A-Z0-9_]*, got ${String(value)}`,
    );
  }
  return value;
}

/** The helpers the runbook template calls. */
export const runbookHelpers = {
  // Handlebars passes its options object last; only the first argument is the value.
  shell: (value: unknown) => shellWord(value),
  shellVar: (value: unknown) => shellVariable(value),
};

/** Renders RUNBOOK.md from its view (runbook.ts). */
export const renderRunbookTemplate = templateRenderer(
  runbookTemplateSource,
  () => require('./runbook-template.cjs'),
  runbookHelpers,
);
