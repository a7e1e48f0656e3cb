// Argo CD's health check of `argoproj.io/Application`: what lets the sync waves of an app-of-apps
// wait for each child Application to be healthy. Pure data.

/**
 * Argo CD has no health check for `argoproj.io/Application` since 1.8; without it the sync
 * waves of an app-of-apps do not wait for child applications to become healthy. This is the
 * check of the Argo CD operator manual ("Resource Health", Argocd App), with one addition: a
 * child whose own sync is requested or running (`operation` set, or `status.operationState.phase`
 * Running or Terminating) is Progressing unless it is Degraded. Argo CD 3.4 leaves missing
 * resources out of an Application's health (v3.4.4 controller/health.go
 * `setApplicationHealth`: "Missing resources should not affect parent app health"; Missing only
 * when none exists), so a child between its own waves, or retrying a failed sync, reads Healthy
 * while its later waves are not applied: cert-manager with its CA but not yet its ClusterIssuer,
 * the policy component with its templates but not its constraints. The root would then go on to
 * the next wave early.
 */
export const APPLICATION_HEALTH_LUA = `hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
if hs.status ~= "Degraded" then
  local op = nil
  if obj.status ~= nil then
    op = obj.status.operationState
  end
  if obj.operation ~= nil or (op ~= nil and (op.phase == "Running" or op.phase == "Terminating")) then
    hs.status = "Progressing"
    hs.message = "its own sync is still running"
    if op ~= nil and op.message ~= nil and op.message ~= "" then
      hs.message = "its own sync is still running: " .. op.message
    end
  end
end
return hs
`;

/** The argocd-cm key of Argo CD's health check of a kind (`<group>_<kind>`, the kind alone in core). */
export function healthKey(group: string, kind: string): string {
  return `resource.customizations.health.${group === '' ? kind : `${group}_${kind}`}`;
}

export const APPLICATION_HEALTH_KEY = healthKey('argoproj.io', 'Application');
