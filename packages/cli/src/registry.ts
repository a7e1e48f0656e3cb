// The registry: every component of the platform, in one list. Nothing else names them; adding a
// component is one package and one line here.
import { argocdComponent } from '@homelab/argocd';
import { autheliaComponent } from '@homelab/authelia';
import { bitwardenSmComponent } from '@homelab/bitwarden-sm';
import { certManagerComponent } from '@homelab/cert-manager';
import { ciliumComponent } from '@homelab/cilium';
import type { Registry } from '@homelab/core';
import { gatewayComponent } from '@homelab/gateway';
import { monitoringComponent } from '@homelab/monitoring';

export const REGISTRY: Registry = [
  ciliumComponent,
  bitwardenSmComponent,
  certManagerComponent,
  gatewayComponent,
  autheliaComponent,
  argocdComponent,
  monitoringComponent,
];
