package cloudflarefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"
)

func (s *Server) zone(w http.ResponseWriter, id string) (*Zone, bool) {
	s.mu.Lock()
	z := s.zones[id]
	s.mu.Unlock()
	if z == nil {
		fail(w, http.StatusBadRequest, codeRoute, fmt.Sprintf("Could not route to /zones/%s, perhaps your object identifier is invalid?", id))
		return nil, false
	}
	return z, true
}

func (s *Server) getZone(w http.ResponseWriter, id string) {
	if z, ok := s.zone(w, id); ok {
		writeJSON(w, http.StatusOK, envelope{Success: true, Result: z})
	}
}

// listRecords supports the filters the controller and tests use: name / name.exact, type, and
// comment.exact, combined with AND (the API's default match=all).
func (s *Server) listRecords(w http.ResponseWriter, r *http.Request, zoneID string) {
	z, ok := s.zone(w, zoneID)
	if !ok {
		return
	}
	page, perPage, ok := s.paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	name := q.Get("name.exact")
	if name == "" {
		name = q.Get("name")
	}
	if name != "" {
		name = fqdn(name, z.Name)
	}
	typ := strings.ToUpper(q.Get("type"))
	comment := q.Get("comment.exact")
	s.mu.Lock()
	var all []Record
	for _, rec := range s.records {
		if rec.ZoneID != zoneID || (name != "" && rec.Name != name) || (typ != "" && rec.Type != typ) ||
			(comment != "" && !strings.EqualFold(rec.Comment, comment)) {
			continue
		}
		all = append(all, *rec)
	}
	s.mu.Unlock()
	sortRecords(all)
	res, info := pageOf(all, page, perPage)
	writeJSON(w, http.StatusOK, envelope{Success: true, Result: res, ResultInfo: info})
}

func (s *Server) getRecord(w http.ResponseWriter, zoneID, id string) {
	if _, ok := s.zone(w, zoneID); !ok {
		return
	}
	s.mu.Lock()
	rec := s.records[id]
	var out Record
	if rec != nil {
		out = *rec
	}
	s.mu.Unlock()
	if rec == nil || rec.ZoneID != zoneID {
		fail(w, http.StatusNotFound, codeRecordMissing, "Record does not exist.")
		return
	}
	writeJSON(w, http.StatusOK, envelope{Success: true, Result: out})
}

type recordBody struct {
	Name    *string `json:"name"`
	Type    *string `json:"type"`
	Content *string `json:"content"`
	TTL     *int    `json:"ttl"`
	Proxied *bool   `json:"proxied"`
	Comment *string `json:"comment"`
}

// validate checks a complete record like the API does; it returns the status, code and message.
func validate(rec *Record, z *Zone) (int, int, string) {
	switch rec.Type {
	case "A":
		if a, err := netip.ParseAddr(rec.Content); err != nil || !a.Is4() {
			return http.StatusBadRequest, codeBadIPv4, "Content for A record must be a valid IPv4 address."
		}
	case "AAAA":
		if a, err := netip.ParseAddr(rec.Content); err != nil || !a.Is6() || a.Is4In6() {
			return http.StatusBadRequest, codeBadIPv6, "Content for AAAA record must be a valid IPv6 address."
		}
	case "CNAME", "TXT":
		if rec.Content == "" {
			return http.StatusBadRequest, codeInvalidRequest, "DNS Validation Error: content is required"
		}
	default:
		return http.StatusBadRequest, codeInvalidRequest, fmt.Sprintf("DNS Validation Error: type %q is not supported by this double", rec.Type)
	}
	if rec.TTL != 1 && (rec.TTL < 60 || rec.TTL > 86400) {
		return http.StatusBadRequest, codeBadTTL, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic."
	}
	if rec.Name != z.Name && !strings.HasSuffix(rec.Name, "."+z.Name) {
		return http.StatusBadRequest, codeInvalidRequest, fmt.Sprintf("DNS Validation Error: %s is not in zone %s", rec.Name, z.Name)
	}
	return 0, 0, ""
}

// conflictLocked reports the API's errors for a record clashing with others of the same name
// (other than the record with id `self`).
func (s *Server) conflictLocked(rec *Record, self string) (int, int, string) {
	for _, o := range s.records {
		if o.ID == self || o.ZoneID != rec.ZoneID || o.Name != rec.Name {
			continue
		}
		if (o.Type == "CNAME") != (rec.Type == "CNAME") && (isAddr(o.Type) || isAddr(rec.Type)) ||
			o.Type == "CNAME" && rec.Type == "CNAME" {
			return http.StatusBadRequest, codeCNAMEConflict, "An A, AAAA, or CNAME record with that host already exists."
		}
		// Like the real API: a second record of the same name, type and content is refused with
		// 81058, whatever its TTL, proxy setting or comment (addresses compare as addresses).
		if o.Type == rec.Type && sameContent(o.Type, o.Content, rec.Content) {
			return http.StatusBadRequest, codeIdenticalExists, "An identical record already exists."
		}
	}
	return 0, 0, ""
}

func isAddr(t string) bool { return t == "A" || t == "AAAA" }

func sameContent(typ, a, b string) bool {
	if isAddr(typ) {
		x, errX := netip.ParseAddr(a)
		y, errY := netip.ParseAddr(b)
		if errX == nil && errY == nil {
			return x == y
		}
	}
	return strings.EqualFold(a, b)
}

func decodeBody(w http.ResponseWriter, r *http.Request) (recordBody, bool) {
	var b recordBody
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&b); err != nil {
		fail(w, http.StatusBadRequest, codeInvalidRequest, "Malformed JSON in request body: "+err.Error())
		return b, false
	}
	return b, true
}

func (b recordBody) apply(rec *Record, z *Zone) {
	if b.Name != nil {
		rec.Name = fqdn(*b.Name, z.Name)
	}
	if b.Type != nil {
		rec.Type = strings.ToUpper(*b.Type)
	}
	if b.Content != nil {
		rec.Content = *b.Content
	}
	if b.TTL != nil {
		rec.TTL = *b.TTL
	}
	if b.Proxied != nil {
		rec.Proxied = *b.Proxied
	}
	if b.Comment != nil {
		rec.Comment = *b.Comment
	}
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request, zoneID string) {
	z, ok := s.zone(w, zoneID)
	if !ok {
		return
	}
	b, ok := decodeBody(w, r)
	if !ok {
		return
	}
	if b.Name == nil || b.Type == nil || b.TTL == nil {
		fail(w, http.StatusBadRequest, codeInvalidRequest, "DNS Validation Error: name, type and ttl are required")
		return
	}
	now := time.Now().UTC()
	rec := Record{ID: newID(), ZoneID: z.ID, ZoneName: z.Name, Proxiable: true, Tags: []string{}, CreatedOn: now, ModifiedOn: now}
	b.apply(&rec, z)
	if st, code, msg := validate(&rec, z); st != 0 {
		fail(w, st, code, msg)
		return
	}
	s.mu.Lock()
	if st, code, msg := s.conflictLocked(&rec, ""); st != 0 {
		s.mu.Unlock()
		fail(w, st, code, msg)
		return
	}
	s.records[rec.ID] = &rec
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, envelope{Success: true, Result: rec})
}

// writeRecord is PUT (overwrite: name, type, ttl required) and PATCH (change the given fields).
func (s *Server) writeRecord(w http.ResponseWriter, r *http.Request, zoneID, id string) {
	z, ok := s.zone(w, zoneID)
	if !ok {
		return
	}
	b, ok := decodeBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.records[id]
	if old == nil || old.ZoneID != zoneID {
		fail(w, http.StatusNotFound, codeRecordMissing, "Record does not exist.")
		return
	}
	rec := *old
	if r.Method == http.MethodPut {
		if b.Name == nil || b.Type == nil || b.TTL == nil {
			fail(w, http.StatusBadRequest, codeInvalidRequest, "DNS Validation Error: name, type and ttl are required")
			return
		}
		rec.Comment, rec.Proxied = "", false
	}
	b.apply(&rec, z)
	if st, code, msg := validate(&rec, z); st != 0 {
		fail(w, st, code, msg)
		return
	}
	if st, code, msg := s.conflictLocked(&rec, id); st != 0 {
		fail(w, st, code, msg)
		return
	}
	rec.ModifiedOn = time.Now().UTC()
	s.records[id] = &rec
	s.notifyLocked()
	writeJSON(w, http.StatusOK, envelope{Success: true, Result: rec})
}

func (s *Server) deleteRecord(w http.ResponseWriter, zoneID, id string) {
	if _, ok := s.zone(w, zoneID); !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.records[id]
	if old == nil || old.ZoneID != zoneID {
		fail(w, http.StatusNotFound, codeRecordMissing, "Record does not exist.")
		return
	}
	delete(s.records, id)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, envelope{Success: true, Result: map[string]string{"id": id}})
}

// fqdn completes a record name the way the API does: "@" is the apex, a name outside the zone
// gets the zone appended; the result is lower case without a trailing dot.
func fqdn(name, zone string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	switch {
	case name == "@" || name == "":
		return zone
	case name == zone || strings.HasSuffix(name, "."+zone):
		return name
	default:
		return name + "." + zone
	}
}

func sortRecords(rs []Record) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Content != b.Content {
			return a.Content < b.Content
		}
		return a.ID < b.ID
	})
}
