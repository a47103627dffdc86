-- Argo CD health of CloudflareToken, TokenIssuer and ClusterTokenIssuer (cloudflare.tokenoperator.dev), read
-- from the conditions the operator writes: Stalled=True is Degraded (a person must change something),
-- Ready=True for the current generation is Healthy, anything else Progressing (the operator is working: a
-- first mint, a rotation, Cloudflare answering 429 or 5xx, an issuer verifying its credential).
local hs = { status = "Progressing", message = "Waiting for the operator" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "Waiting for the operator to observe generation " .. obj.metadata.generation
  return hs
end
local ready, stalled
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then
    ready = c
  elseif c.type == "Stalled" then
    stalled = c
  end
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end
if ready ~= nil then
  hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
  if ready.status == "True" then
    hs.status = "Healthy"
  elseif ready.status == "False" and obj.kind ~= "CloudflareToken" then
    -- Issuers have no Reconciling condition: a failed verification is Degraded until it succeeds.
    hs.status = "Degraded"
  end
end
return hs
