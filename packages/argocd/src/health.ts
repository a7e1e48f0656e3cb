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
 *
 * A second addition: a child whose spec names sources its controller has not compared yet is
 * Progressing too, whatever its stored health. When the root changes a child (every child's
 * `targetRevision` when the cluster moves to another revision, a CRD bundle's tag), the child
 * keeps its old Healthy status, with no operation, until its controller has generated the new
 * manifests (a `helm dependency build` for our charts) and compared them: the automated sync
 * starts there and the new status is written with it (v3.4.4 controller/appcontroller.go
 * `processAppRefreshQueueItem`, `CompareAppState`). Between waves Argo CD only sleeps two
 * seconds (controller/sync.go `delayBetweenSyncWaves`: "not foolproof"), so the root would
 * read the stale Healthy and start the next wave against the old CRDs. Argo CD itself tells an
 * uncompared spec by `spec.source` against `status.sync.comparedTo.source`
 * (`currentSourceEqualsSyncedSource`, a Go deep-equal of the two structs); so does this, with a
 * value absent, empty, false or zero equal to none: the spec holds what was applied, the status
 * what the controller serialized (`omitempty` drops those, other fields write them empty). Not
 * for a source hydrator's Application, whose source the controller derives. Nor where the
 * controller refused the new spec (an `InvalidSpecError` condition: a project that does not
 * permit its repository or destination): v3.4.4 then writes its status without comparing
 * (`refreshAppConditions`), so it would read Progressing for good; it keeps its stored health,
 * with the condition's message.
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
local function empty(value)
  return value == nil or value == false or value == "" or value == 0 or (type(value) == "table" and next(value) == nil)
end
local function same(a, b)
  if type(a) == "table" or type(b) == "table" then
    if (a ~= nil and type(a) ~= "table") or (b ~= nil and type(b) ~= "table") then
      return empty(a) and empty(b)
    end
    a = a or {}
    b = b or {}
    for key, value in pairs(a) do
      if not same(value, b[key]) then
        return false
      end
    end
    for key, value in pairs(b) do
      if a[key] == nil and not same(nil, value) then
        return false
      end
    end
    return true
  end
  if empty(a) and empty(b) then
    return true
  end
  return a == b
end
if obj.spec ~= nil and obj.spec.sourceHydrator == nil and (obj.spec.source ~= nil or obj.spec.sources ~= nil) then
  local compared = nil
  if obj.status ~= nil and obj.status.sync ~= nil then
    compared = obj.status.sync.comparedTo
  end
  local current = false
  if compared ~= nil then
    if not empty(obj.spec.sources) then
      current = same(obj.spec.sources, compared.sources)
    else
      current = same(obj.spec.source, compared.source)
    end
  end
  if not current then
    if obj.status ~= nil and obj.status.conditions ~= nil then
      for _, condition in ipairs(obj.status.conditions) do
        if condition.type == "InvalidSpecError" then
          hs.message = tostring(condition.message)
          return hs
        end
      end
    end
    hs.status = "Progressing"
    hs.message = "its controller has not compared its new spec with Git yet"
    return hs
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
