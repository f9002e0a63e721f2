package cloudflarefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The Cloudflare API v4 wire format (envelopes, paging, error codes) and the routing of requests
// to the handlers in records.go.

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
