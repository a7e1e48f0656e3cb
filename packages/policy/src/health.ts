// Argo CD's health check of Gatekeeper's ConstraintTemplate: what lets the constraints' sync wave
// wait until Gatekeeper made their kinds. Pure data.

/**
 * A ConstraintTemplate is Healthy once Gatekeeper made its constraint kind: `status.created`,
 * which Gatekeeper's status controller (in the audit pod, `--operation=status`) sets true when
 * one of its pods reports the template ingested without errors, a report each pod writes only
 * after it created or updated the constraint CRD (v3.23.0, constrainttemplate_controller.go
 * `handleUpdate`, constrainttemplatestatus_controller.go). Degraded while not created and a pod
 * reports an error (a CEL expression Gatekeeper does not compile: the message is Gatekeeper's);
 * Progressing otherwise. Argo CD v3.4.4 has no health check of its own for this kind and would
 * count a template healthy once applied, so the constraints' wave would start before their CRDs
 * exist and the first sync fail on them. Lua 5.1 (gopher-lua), as Argo CD runs it.
 */
export const CONSTRAINT_TEMPLATE_HEALTH_LUA = `hs = {}
if obj.status ~= nil and obj.status.created == true then
  hs.status = "Healthy"
  hs.message = "Gatekeeper created the constraint kind"
  return hs
end
if obj.status ~= nil and obj.status.byPod ~= nil then
  for _, pod in ipairs(obj.status.byPod) do
    if pod.errors ~= nil then
      for _, e in ipairs(pod.errors) do
        hs.status = "Degraded"
        hs.message = tostring(pod.id) .. ": " .. tostring(e.message)
        return hs
      end
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for Gatekeeper to create the constraint kind"
return hs
`;
