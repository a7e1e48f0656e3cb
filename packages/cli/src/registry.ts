// The registry: every component of the platform, in one list. Nothing else names them; adding a
// component is one package and one line here.
import { applicationsComponent } from '@homelab/applications';
import { argocdComponent } from '@homelab/argocd';
import { autheliaComponent } from '@homelab/authelia';
import { backupsComponent } from '@homelab/backups';
import { bitwardenSmComponent } from '@homelab/bitwarden-sm';
import { certManagerComponent } from '@homelab/cert-manager';
import { ciliumComponent } from '@homelab/cilium';
import type { Registry } from '@homelab/core';
import { corednsComponent } from '@homelab/coredns';
import { gatewayComponent } from '@homelab/gateway';
import { longhornComponent } from '@homelab/longhorn';
import { monitoringComponent } from '@homelab/monitoring';
import { policyComponent } from '@homelab/policy';
import { snapshotControllerComponent } from '@homelab/snapshot-controller';

export const REGISTRY: Registry = [
  ciliumComponent,
  corednsComponent,
  bitwardenSmComponent,
  certManagerComponent,
  gatewayComponent,
  longhornComponent,
  snapshotControllerComponent,
  backupsComponent,
  autheliaComponent,
  argocdComponent,
  monitoringComponent,
  policyComponent,
  applicationsComponent,
];
