// The registry: every component of the platform, in one list. Nothing else names them; adding a
// component is one package and one line here.
import { argocdComponent } from '@homelab/argocd';
import { ciliumComponent } from '@homelab/cilium';
import type { Registry } from '@homelab/core';
import { corednsComponent } from '@homelab/coredns';
import { policyComponent } from '@homelab/policy';

export const REGISTRY: Registry = [
  ciliumComponent,
  argocdComponent,
  corednsComponent,
  policyComponent,
];
