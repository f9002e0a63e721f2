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
	"fmt"
	"net/http"
	"net/http/httptest"
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
		panic("cloudflarefake: no zone " + zoneID)
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
