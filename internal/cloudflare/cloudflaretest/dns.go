package cloudflaretest

import (
	"net/http"
	"strings"
	"time"
)

// listDNSRecords needs DNS Read (or DNS Write) on the zone. Filters as cert-manager and the SDK send them:
// type, name, content (and their .exact forms), per_page up to 5000 (default 100).
func (s *Server) listDNSRecords(w http.ResponseWriter, r *http.Request, p principal) {
	page, perPage, ok := pageParams(w, r, 100, 5, 5000)
	if !ok {
		return
	}
	q := r.URL.Query()
	typ := q.Get("type")
	name := firstNonEmpty(q.Get("name"), q.Get("name.exact"))
	content := firstNonEmpty(q.Get("content"), q.Get("content.exact"))
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zoneFor(w, r, p, capDNSRead)
	if !ok {
		return
	}
	var match []*dnsRecord
	for _, rec := range s.records[z.id] {
		if (typ != "" && rec.typ != strings.ToUpper(typ)) || (name != "" && rec.name != normalizeName(name, z.name)) ||
			(content != "" && rec.content != content) {
			continue
		}
		match = append(match, rec)
	}
	items, info := paginate(match, page, perPage)
	out := make([]map[string]any, 0, len(items))
	for _, rec := range items {
		out = append(out, recordJSON(rec))
	}
	writeList(w, out, info)
}

type recordBody struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     *int   `json:"ttl"`
	Proxied bool   `json:"proxied"`
}

// createDNSRecord needs DNS Write; Freenom TLD zones are refused with 1038. The body is read whatever its
// Content-Type (cert-manager sends none).
func (s *Server) createDNSRecord(w http.ResponseWriter, r *http.Request, p principal) {
	var b recordBody
	if !decodeJSON(w, r, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zoneFor(w, r, p, capDNSWrite)
	if !ok {
		return
	}
	if z.blockedTLD() {
		fail(w, http.StatusBadRequest, codeBlockedTLD, msgBlockedTLD)
		return
	}
	ttl := 1
	if b.TTL != nil {
		ttl = *b.TTL
	}
	typ := strings.ToUpper(b.Type)
	switch {
	case !contains([]string{"TXT", "A", "AAAA", "CNAME"}, typ):
		fail(w, http.StatusBadRequest, 9000, "DNS record type is invalid.")
		return
	case b.Name == "":
		fail(w, http.StatusBadRequest, 9005, "Content for %s record is invalid. Name is required.", typ)
		return
	case b.Content == "":
		fail(w, http.StatusBadRequest, 9005, "Content for %s record is invalid.", typ)
		return
	case ttl != 1 && (ttl < 60 || ttl > 86400):
		fail(w, http.StatusBadRequest, 9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
		return
	}
	name := normalizeName(b.Name, z.name)
	for _, rec := range s.records[z.id] {
		if rec.typ == typ && rec.name == name && rec.content == b.Content {
			fail(w, http.StatusBadRequest, codeRecordExists, "An identical record already exists.")
			return
		}
	}
	now := s.now().Truncate(time.Second)
	rec := &dnsRecord{id: randomHex(32), zoneID: z.id, zoneName: z.name, typ: typ, name: name, content: b.Content,
		ttl: ttl, proxied: b.Proxied, createdOn: now, modifiedOn: now}
	s.records[z.id] = append(s.records[z.id], rec)
	writeOK(w, recordJSON(rec))
}

func (s *Server) deleteDNSRecord(w http.ResponseWriter, r *http.Request, p principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zoneFor(w, r, p, capDNSWrite)
	if !ok {
		return
	}
	if z.blockedTLD() {
		fail(w, http.StatusBadRequest, codeBlockedTLD, msgBlockedTLD)
		return
	}
	id := r.PathValue("record_id")
	recs := s.records[z.id]
	for i, rec := range recs {
		if rec.id == id {
			s.records[z.id] = append(recs[:i:i], recs[i+1:]...)
			writeOK(w, map[string]any{"id": id})
			return
		}
	}
	fail(w, http.StatusNotFound, codeRecordNotFound, "Record does not exist.")
}

// normalizeName makes a record name absolute in the zone, lower-case, without a trailing dot: Cloudflare
// appends the zone name to a relative name.
func normalizeName(name, zoneName string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "@" {
		return zoneName
	}
	if name != zoneName && !strings.HasSuffix(name, "."+zoneName) {
		return name + "." + zoneName
	}
	return name
}

func recordJSON(rec *dnsRecord) map[string]any {
	return map[string]any{"id": rec.id, "zone_id": rec.zoneID, "zone_name": rec.zoneName, "type": rec.typ,
		"name": rec.name, "content": rec.content, "ttl": rec.ttl, "proxied": rec.proxied, "proxiable": false,
		"locked": false, "created_on": formatTime(rec.createdOn), "modified_on": formatTime(rec.modifiedOn),
		"meta": map[string]any{}, "comment": nil, "tags": []string{}}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
