#!/usr/bin/env node
// Writes src/generated/monitor-credentials.ts: the credential and file paths of the Prometheus
// Operator's CRDs as the vendored kube-prometheus-stack chart ships them (src/monitor-credentials.ts). Run
// from the package folder after `build`, whenever that chart's pin changes (a test says when).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseYaml, untar } from '@homelab/core';
import {
  credentialPaths,
  filePaths,
  monitorCredentialsModule,
} from '../dist/monitor-credentials.js';

const CHART = 'kube-prometheus-stack';
const vendor = join(import.meta.dirname, '../../../vendor');
const lock = JSON.parse(readFileSync(join(vendor, 'lock.json'), 'utf8'));
const pins = lock.artifacts.filter((artifact) => artifact.name === CHART);
if (pins.length !== 1) throw new Error(`expected one vendored ${CHART}, found ${pins.length}`);
const [pin] = pins;
const files = untar(gunzipSync(readFileSync(join(vendor, pin.path))));
const prefix = `${CHART}/charts/crds/crds/`;
const crds = files
  .filter((file) => file.path.startsWith(prefix) && file.path.endsWith('.yaml'))
  .map((file) => parseYaml(new TextDecoder().decode(file.data)));
writeFileSync(
  'src/generated/monitor-credentials.ts',
  monitorCredentialsModule(
    crds.map(credentialPaths),
    crds.map(filePaths),
    `${CHART} ${pin.version}`,
  ),
);
