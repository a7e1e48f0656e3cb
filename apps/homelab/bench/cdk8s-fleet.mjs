// The peer of the fleet benchmark: cdk8s synthesizing the same fleet's Argo CD objects
// (Applications, AppProjects) and Cilium objects (pools, announcement and BGP resources, network
// policies) that `homelab build` generates for it.
//
// Usage: node cdk8s-fleet.mjs <objects.json> <outdir>
// <objects.json> is { "<cluster>": [object, …] }, read from a homelab build of the fleet (the
// objects are data here, as they would be constants in a cdk8s program: the peer only pays for
// what cdk8s does with them). One cdk8s Chart per cluster, one ApiObject per object; App.synth()
// writes one YAML file per chart into <outdir>, as `cdk8s synth` does. Prints the object count.
import { readFileSync } from 'node:fs';
import { ApiObject, App, Chart } from 'cdk8s';

const [objectsFile, outdir] = process.argv.slice(2);
if (!objectsFile || !outdir) throw new Error('usage: node cdk8s-fleet.mjs <objects.json> <outdir>');
const clusters = JSON.parse(readFileSync(objectsFile, 'utf8'));

const app = new App({ outdir });
let count = 0;
for (const [cluster, objects] of Object.entries(clusters)) {
  const chart = new Chart(app, cluster, { disableResourceNameHashes: true });
  objects.forEach((object, i) => {
    const { apiVersion, kind, metadata, ...rest } = object;
    new ApiObject(chart, `o${i}`, { apiVersion, kind, metadata, ...rest });
    count++;
  });
}
app.synth();
process.stdout.write(`${count}\n`);
