// The registry: every component of the platform, in one list. Nothing else names them; adding a
// component is one package and one line here.
import { argocdComponent } from '@homelab/argocd';
import { certManagerComponent } from '@homelab/cert-manager';
import { ciliumComponent } from '@homelab/cilium';
import type { Registry } from '@homelab/core';
import { gatewayComponent } from '@homelab/gateway';
import { monitoringComponent } from '@homelab/monitoring';

export const REGISTRY: Registry = [
  ciliumComponent,
  certManagerComponent,
  gatewayComponent,
  argocdComponent,
  monitoringComponent,
];
