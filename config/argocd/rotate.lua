-- The "rotate" action: a new value of the rotate annotation, which the operator handles once
-- (status.lastRotateRequest remembers it). The time makes each use distinct.
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["cloudflare.tokenoperator.dev/rotate"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
