// The registry: every component of the platform, in one list. Nothing else names them; adding a
// component is one package and one line here.
import { applicationsComponent } from '@homelab/applications';
import { argocdComponent } from '@homelab/argocd';
import { backupsComponent } from '@homelab/backups';
import { ciliumComponent } from '@homelab/cilium';
import type { Registry } from '@homelab/core';
import { longhornComponent } from '@homelab/longhorn';
import { snapshotControllerComponent } from '@homelab/snapshot-controller';

export const REGISTRY: Registry = [
  ciliumComponent,
  argocdComponent,
  longhornComponent,
  snapshotControllerComponent,
  backupsComponent,
  applicationsComponent,
];
