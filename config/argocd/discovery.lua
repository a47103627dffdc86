-- Argo CD actions of a CloudflareToken: "rotate" mints a new token now (the old one is revoked after the
-- resource's rotationGracePeriod), as `kubectl annotate cftoken ... cloudflare.tokenoperator.dev/rotate=<new value>`.
local actions = {}
actions["rotate"] = { ["disabled"] = false }
return actions
