package cloudflaretest

// resource is what an endpoint acts on: the user, an account, or a zone of an account.
type resource struct {
	kind    string // "user" | "account" | "zone"
	id      string
	account string // for zones: the owning account ("" when the zone is unknown)
}

func userRes(tag string) resource       { return resource{kind: "user", id: tag} }
func accountRes(id string) resource     { return resource{kind: "account", id: id} }
func zoneRes(z *zone) resource          { return resource{kind: "zone", id: z.id, account: z.account} }
func unknownZoneRes(id string) resource { return resource{kind: "zone", id: id} }

// anyZoneOf stands for "every zone of the account": only account-wide zone grants (the nested form or the
// zone wildcard) cover it, never a single-zone key, because no zone has this id.
func anyZoneOf(acct string) resource {
	return resource{kind: "zone", id: "\x00every-zone", account: acct}
}

// principal is the authenticated caller.
type principal struct {
	globalKey bool
	tok       *token // nil for the global key
	bucket    string // rate-limit bucket
}

// may decides whether the caller holds capability need on r: explicit deny first, then explicit allow,
// otherwise implicit deny. The global key may do anything the user may, which is everything on the seeded
// accounts. An account-owned token never reaches outside its account, whatever its resources say.
// Call with s.mu held.
func (s *Server) may(p principal, need capability, r resource) bool {
	if p.globalKey {
		switch r.kind {
		case "user":
			return r.id == s.userTag
		case "account":
			return s.knownAccount(r.id)
		default:
			return r.account == "" || s.knownAccount(r.account)
		}
	}
	t := p.tok
	if t.owner == ownerAccount {
		if r.kind == "user" || (r.kind == "account" && r.id != t.account) || (r.kind == "zone" && r.account != t.account) {
			return false
		}
	}
	for _, pol := range t.policies {
		if pol.effect == "deny" && grants(pol.groups, need, false) && covers(pol.resources, r) {
			return false
		}
	}
	for _, pol := range t.policies {
		if pol.effect == "allow" && grants(pol.groups, need, true) && covers(pol.resources, r) {
			return true
		}
	}
	return false
}

// grants reports whether one of the groups carries need. An allowed write implies the matching read; a
// denied write denies only the write.
func grants(groupIDs []string, need capability, allow bool) bool {
	for _, id := range groupIDs {
		g, ok := groupByID(id)
		if !ok {
			continue
		}
		if g.cap == need || (allow && readOf[g.cap] == need) {
			return true
		}
	}
	return false
}

// covers reports whether a policy's resources include r. Keys: one zone, every zone (zone.*), one account,
// every account (account.*), the user, and an account whose value nests zone keys (all zones, or listed
// zones, of that account).
func covers(resources map[string]any, r resource) bool {
	for key, v := range resources {
		switch val := v.(type) {
		case string:
			if val != "*" {
				continue
			}
			switch r.kind {
			case "zone":
				if key == keyZone+r.id || key == keyZone+"*" {
					return true
				}
			case "account":
				if key == keyAccount+r.id || key == keyAccount+"*" {
					return true
				}
			case "user":
				if key == keyUser+r.id {
					return true
				}
			}
		case map[string]string:
			if r.kind != "zone" || r.account == "" || (key != keyAccount+r.account && key != keyAccount+"*") {
				continue
			}
			for zk, zv := range val {
				if zv == "*" && (zk == keyZone+"*" || zk == keyZone+r.id) {
					return true
				}
			}
		}
	}
	return false
}
