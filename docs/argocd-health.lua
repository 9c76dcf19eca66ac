-- Argo CD health check for the ssvm.cloudstack.io kinds: SSVMPool, CloudStackEndpoint and SSVMSettings.
--
-- Install it once for the three kinds in argocd-cm (see docs/gitops.md):
--   resource.customizations: |
--     ssvm.cloudstack.io/*:
--       health.lua: |
--         <this script>
--
-- The operator writes kstatus conditions, each with observedGeneration, and status.observedGeneration
-- (-1 until its first write). Ready is always present; Stalled, Reconciling, Paused and Degraded only
-- while True. The mapping, first match wins:
--   no conditions yet, or a spec generation the operator has not read yet   -> Progressing
--   Stalled=True (the declaration cannot be realised, or a person must act) -> Degraded
--   Paused=True (spec.paused or the ssvm.cloudstack.io/paused annotation)   -> Suspended
--   Ready=True                                                              -> Healthy
--   Reconciling=True (a CloudStack job, CloudStack's scanner, a rollout)    -> Progressing
--   Ready=False (e.g. SSVMUnhealthy, TooFewSSVMs, drift in Observe mode)    -> Degraded
--   anything else (Ready=Unknown)                                           -> Progressing

local hs = {status = "Progressing", message = "waiting for the operator to report status"}

local function find(conditions, kind)
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if obj.status == nil or obj.status.conditions == nil or #obj.status.conditions == 0 then
  return hs
end
local conditions = obj.status.conditions
local ready = find(conditions, "Ready")

-- A condition written for an older spec says nothing about the spec Argo CD just synced.
local generation = obj.metadata ~= nil and obj.metadata.generation or nil
if generation ~= nil then
  local observed = obj.status.observedGeneration
  if ready ~= nil and ready.observedGeneration ~= nil then
    observed = ready.observedGeneration
  end
  if observed == nil or observed < generation then
    hs.message = "the operator has not yet observed generation " .. tostring(generation)
    return hs
  end
end

local stalled = find(conditions, "Stalled")
local paused = find(conditions, "Paused")
local reconciling = find(conditions, "Reconciling")

if is_true(stalled) then
  hs.status = "Degraded"
  hs.message = describe(stalled)
elseif is_true(paused) then
  hs.status = "Suspended"
  hs.message = describe(paused)
elseif is_true(ready) then
  hs.status = "Healthy"
  hs.message = describe(ready)
elseif is_true(reconciling) then
  hs.status = "Progressing"
  hs.message = describe(reconciling)
elseif ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
elseif ready ~= nil then
  hs.message = describe(ready)
end
return hs
