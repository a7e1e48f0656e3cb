// Argo CD's health check of the Bitwarden operator's BitwardenSecret: what makes a Secret the
// operator cannot fill show where it is, with the operator's own words. Pure data.

/**
 * A BitwardenSecret is Healthy once the operator filled its Secret (condition `SuccessfulSync`
 * True, which sm-operator v2 sets after it wrote the Secret: `LogCompletion` in
 * internal/controller/bitwardensecret_controller.go); Degraded, with the operator's message,
 * when it only ever failed (condition `FailedSync`, which the operator writes with status False
 * and the cause: a machine-account token it cannot read or use, an organization the account
 * cannot read); Progressing until the operator reported. Not Degraded: a mapped entry the account
 * cannot read, or a key mapped after the last sync; the operator writes the entries Bitwarden's
 * sync call returned, and only when it reports changes since the last sync, with `SuccessfulSync`
 * True either way (`PullSecretManagerSecretDeltas`, `ApplySecretMap`): the rotation guide lists
 * the keys each Secret lacks. A later failure after a success
 * keeps it Healthy: the Secret keeps the values of the last sync, and sm-kubernetes leaves
 * `SuccessfulSync` True (`LogError` sets only `FailedSync`, whose time it stamps once); a forced
 * sync of the runbooks clears the conditions first (rotation.ts `forceSyncCommand`), so its
 * failure shows Degraded, and `BitwardenOperatorErrors` alerts on the rest. Argo CD v3.4.4 has no health
 * check of its own for this kind and counts it healthy once applied, so a consumer's Application
 * showed its pods in CreateContainerConfigError, not the cause. Lua 5.1 (gopher-lua), as Argo
 * CD runs it.
 */
export const BITWARDEN_SECRET_HEALTH_LUA = `hs = {}
local failed = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "SuccessfulSync" and condition.status == "True" then
      hs.status = "Healthy"
      hs.message = "The operator filled the Secret"
      return hs
    end
    if condition.type == "FailedSync" then
      failed = condition
    end
  end
end
if failed ~= nil then
  hs.status = "Degraded"
  hs.message = tostring(failed.message)
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the Bitwarden operator to fill the Secret"
return hs
`;
