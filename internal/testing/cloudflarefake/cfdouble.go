// Package cloudflarefake is a stand-in for the Cloudflare API v4 DNS endpoints that the DNS-sync
// controller uses, speaking the real wire format: the {success, errors, messages, result,
// result_info} envelope, page/per_page pagination, Cloudflare's error codes, bearer-token
// authentication. Tests inject 5xx and 429 (with Retry-After) responses and read back every
// request, counted by method and status, so they can assert how many writes a change cost.
//
// It serves on 127.0.0.1 only (httptest), or on any handler mux through Handler.
package cloudflarefake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Record is a DNS record as the API returns it.
type Record struct {
	ID         string    `json:"id"`
	ZoneID     string    `json:"zone_id"`
	ZoneName   string    `json:"zone_name"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Content    string    `json:"content"`
	Proxiable  bool      `json:"proxiable"`
	Proxied    bool      `json:"proxied"`
	TTL        int       `json:"ttl"`
	Comment    string    `json:"comment,omitempty"`
	Tags       []string  `json:"tags"`
	Settings   struct{}  `json:"settings"`
	Meta       struct{}  `json:"meta"`
	CreatedOn  time.Time `json:"created_on"`
	ModifiedOn time.Time `json:"modified_on"`
}

// Zone is a zone as the API returns it (the fields clients read).
type Zone struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// Request is one request the double answered.
type Request struct {
	Method string
	Path   string
	Status int
	At     time.Time
}

// Fault is an injected failure: the next Count matching requests get Status (and, for 429, a
// Retry-After header of RetryAfter, rounded up to whole seconds as Cloudflare sends it).
type Fault struct {
	Count      int
	Status     int
	RetryAfter time.Duration
	// Method limits the fault to one HTTP method; "" matches all.
	Method string
}

// Server is the double. The zero value is not usable; call New or NewServer.
type Server struct {
	mu       sync.Mutex
	token    string
	zones    map[string]*Zone // by id
	records  map[string]*Record
	faults   []Fault
	requests []Request
	changed  chan struct{} // closed and replaced on every successful write
	// MaxPerPage caps per_page like the real API (documented maximum 5,000,000 for dns_records;
	// tests lower it to exercise pagination). DefaultPerPage applies when the client names none.
	MaxPerPage     int
	DefaultPerPage int

	srv *httptest.Server
}

// NewServer returns a double that accepts only `Authorization: Bearer <token>`, without serving it.
func NewServer(token string) *Server {
	return &Server{token: token, zones: map[string]*Zone{}, records: map[string]*Record{},
		changed: make(chan struct{}), MaxPerPage: 5_000_000, DefaultPerPage: 100}
}

// New starts a double on a loopback port. Close it when done.
func New(token string) *Server {
	s := NewServer(token)
	s.srv = httptest.NewServer(s)
	return s
}

// URL is the API base URL to give a client ("http://127.0.0.1:PORT/client/v4/").
func (s *Server) URL() string { return s.srv.URL + "/client/v4/" }

// Close stops a double started by New.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AddZone creates a zone and returns its id.
func (s *Server) AddZone(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := &Zone{ID: newID(), Name: strings.ToLower(strings.TrimSuffix(name, ".")), Status: "active"}
	s.zones[z.ID] = z
	return z.ID
}

// Put stores a record directly (no request is counted), e.g. a record someone else made by hand.
// Name is completed with the zone name like the API does; the stored record is returned.
func (s *Server) Put(zoneID string, r Record) Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zoneID]
	if z == nil {
		panic("cfdouble: no zone " + zoneID)
	}
	now := time.Now().UTC()
	r.ID, r.ZoneID, r.ZoneName = newID(), z.ID, z.Name
	r.Name = fqdn(r.Name, z.Name)
	if r.TTL == 0 {
		r.TTL = 1
	}
	r.Proxiable = true
	r.CreatedOn, r.ModifiedOn = now, now
	if r.Tags == nil {
		r.Tags = []string{}
	}
	s.records[r.ID] = &r
	s.notifyLocked()
	return r
}

// Remove deletes a record directly (drift made by hand); it reports whether it existed.
func (s *Server) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.records[id]
	delete(s.records, id)
	s.notifyLocked()
	return ok
}

// Records lists a zone's records, sorted by name, type, content.
func (s *Server) Records(zoneID string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.records {
		if r.ZoneID == zoneID {
			out = append(out, *r)
		}
	}
	sortRecords(out)
	return out
}

// Changed returns a channel closed at the next change of the records (a write through the API,
// Put or Remove). Waiters take a new channel after each change.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Inject queues a fault; faults apply in the order injected.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Requests returns every request answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Counts returns the number of requests by "METHOD STATUS" (e.g. "PUT 200"), optionally only
// those since a time.
func (s *Server) Counts(since time.Time) map[string]int {
	out := map[string]int{}
	for _, r := range s.Requests() {
		if !r.At.Before(since) {
			out[fmt.Sprintf("%s %d", r.Method, r.Status)]++
		}
	}
	return out
}

// Writes counts the successful POST, PUT, PATCH and DELETE requests since a time.
func (s *Server) Writes(since time.Time) int {
	n := 0
	for _, r := range s.Requests() {
		if !r.At.Before(since) && r.Method != http.MethodGet && r.Status < 300 {
			n++
		}
	}
	return n
}

// ---- wire format ----

type apiMessage struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

type envelope struct {
	Success    bool         `json:"success"`
	Errors     []apiMessage `json:"errors"`
	Messages   []apiMessage `json:"messages"`
	Result     any          `json:"result"`
	ResultInfo *resultInfo  `json:"result_info,omitempty"`
}

// Cloudflare's error codes for the cases the double models.
const (
	codeAuth            = 10000 // Authentication error
	codeRoute           = 7003  // Could not route to ..., perhaps your object identifier is invalid?
	codeMethod          = 10405 // Method not allowed
	codeRateLimited     = 971   // Please wait and consider throttling your request speed
	codeInternal        = 10001 // internal error (service unavailable)
	codeInvalidRequest  = 1004  // DNS Validation Error
	codeBadIPv4         = 9005  // Content for A record must be a valid IPv4 address.
	codeBadIPv6         = 9006  // Content for AAAA record must be a valid IPv6 address.
	codeBadTTL          = 9021  // Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.
	codeRecordMissing   = 81044 // Record does not exist.
	codeCNAMEConflict   = 81053 // An A, AAAA, or CNAME record with that host already exists.
	codeIdenticalExists = 81058 // An identical record already exists.
	codeBadPerPage      = 1004
)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// ServeHTTP implements the API under /client/v4/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.serve(sw, r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: sw.status, At: time.Now()})
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, e envelope) {
	if e.Errors == nil {
		e.Errors = []apiMessage{}
	}
	if e.Messages == nil {
		e.Messages = []apiMessage{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, envelope{Success: false, Errors: []apiMessage{{Code: code, Message: msg}}})
}

func (s *Server) takeFault(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Count > 0 && (f.Method == "" || f.Method == method) {
			f.Count--
			out := *f
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return out, true
		}
	}
	return Fault{}, false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer "+s.token {
		fail(w, http.StatusForbidden, codeAuth, "Authentication error")
		return
	}
	if f, ok := s.takeFault(r.Method); ok {
		if f.Status == http.StatusTooManyRequests {
			secs := int((f.RetryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			fail(w, f.Status, codeRateLimited, "Please wait and consider throttling your request speed")
			return
		}
		fail(w, f.Status, codeInternal, http.StatusText(f.Status))
		return
	}
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/client/v4"), "/")
	parts := strings.Split(path, "/")
	switch {
	case len(parts) == 1 && parts[0] == "zones" && r.Method == http.MethodGet:
		s.listZones(w, r)
	case len(parts) == 2 && parts[0] == "zones" && r.Method == http.MethodGet:
		s.getZone(w, parts[1])
	case len(parts) == 3 && parts[0] == "zones" && parts[2] == "dns_records":
		switch r.Method {
		case http.MethodGet:
			s.listRecords(w, r, parts[1])
		case http.MethodPost:
			s.createRecord(w, r, parts[1])
		default:
			fail(w, http.StatusMethodNotAllowed, codeMethod, "Method not allowed")
		}
	case len(parts) == 4 && parts[0] == "zones" && parts[2] == "dns_records":
		switch r.Method {
		case http.MethodGet:
			s.getRecord(w, parts[1], parts[3])
		case http.MethodPut, http.MethodPatch:
			s.writeRecord(w, r, parts[1], parts[3])
		case http.MethodDelete:
			s.deleteRecord(w, parts[1], parts[3])
		default:
			fail(w, http.StatusMethodNotAllowed, codeMethod, "Method not allowed")
		}
	default:
		fail(w, http.StatusBadRequest, codeRoute, fmt.Sprintf("Could not route to /%s, perhaps your object identifier is invalid?", path))
	}
}

// paging reads page and per_page like the API: defaults, and a 400 for values out of range.
func (s *Server) paging(w http.ResponseWriter, r *http.Request) (page, perPage int, ok bool) {
	page, perPage = 1, s.DefaultPerPage
	q := r.URL.Query()
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(w, http.StatusBadRequest, codeBadPerPage, "page must be a positive integer")
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(w, http.StatusBadRequest, codeBadPerPage, "per_page must be a positive integer")
			return 0, 0, false
		}
		perPage = min(n, s.MaxPerPage)
	}
	return page, perPage, true
}

func pageOf[T any](all []T, page, perPage int) ([]T, *resultInfo) {
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	info := &resultInfo{Page: page, PerPage: perPage, Count: end - start, TotalCount: len(all),
		TotalPages: (len(all) + perPage - 1) / perPage}
	out := all[start:end]
	if out == nil {
		out = []T{}
	}
	return out, info
}

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) {
	page, perPage, ok := s.paging(w, r)
	if !ok {
		return
	}
	name := strings.ToLower(r.URL.Query().Get("name"))
	s.mu.Lock()
	var all []Zone
	for _, z := range s.zones {
		if name == "" || z.Name == name {
			all = append(all, *z)
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	res, info := pageOf(all, page, perPage)
	writeJSON(w, http.StatusOK, envelope{Success: true, Result: res, ResultInfo: info})
}

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
