// Argo CD's health check of `argoproj.io/Application`: what lets the sync waves of an app-of-apps
// wait for each child Application to be healthy. Pure data.

/**
 * Argo CD has no health check for `argoproj.io/Application` since 1.8; without it the sync
 * waves of an app-of-apps do not wait for child applications to become healthy. This is the
 * check of the Argo CD operator manual ("Resource Health", Argocd App).
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
return hs
`;

/** The argocd-cm key of Argo CD's health check of a kind (`<group>_<kind>`, the kind alone in core). */
export function healthKey(group: string, kind: string): string {
  return `resource.customizations.health.${group === '' ? kind : `${group}_${kind}`}`;
}

export const APPLICATION_HEALTH_KEY = healthKey('argoproj.io', 'Application');
