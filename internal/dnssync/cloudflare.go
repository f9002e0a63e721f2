package dnssync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/dns"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zones"
	"golang.org/x/time/rate"

	"github.com/shoestring-dev/shoestring/internal/dnssync/grammar"
)

// Provider is what the controller needs from a DNS API.
type Provider interface {
	// List returns every record at one name (all types, so conflicts are reported too).
	List(ctx context.Context, name string) ([]Existing, error)
	Create(ctx context.Context, r Record, s Settings) (Existing, error)
	Update(ctx context.Context, id string, r Record, s Settings) (Existing, error)
	Delete(ctx context.Context, id string) error
}

// RetryAfterError is a 429 answer: try again after Wait.
type RetryAfterError struct {
	Wait time.Duration
	Err  error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited by Cloudflare, retry after %s: %v", e.Wait, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// NotFoundError is a write to a record that no longer exists (deleted by hand): the controller
// forgets what it knew and lists again.
type NotFoundError struct{ Err error }

func (e *NotFoundError) Error() string { return e.Err.Error() }
func (e *NotFoundError) Unwrap() error { return e.Err }

// Cloudflare is the Provider for one zone through the official SDK. It uses the SDK's dns and
// zones services directly, not cloudflare.NewClient: the root package links every one of the
// SDK's ~100 services, which measured 66 MiB resident for the controller (156 MB binary) against
// the figures in docs/dns-sync.md with these two alone.
type Cloudflare struct {
	records *dns.RecordService
	zones   *zones.ZoneService
	zoneID  string
}

// CloudflareOptions configure the adapter.
type CloudflareOptions struct {
	Token   string
	BaseURL string // "" = the real API
	// Zone is a zone id (32 hex digits) or a zone name, resolved once with GET /zones?name=.
	Zone string
	// Transport carries the requests (metrics, rate limiting); nil = http.DefaultTransport.
	Transport http.RoundTripper
}

// NewCloudflare builds the adapter. The SDK's own retries are off (it would block a worker for up
// to ten attempts): the controller's queue retries with backoff and honours Retry-After itself.
func NewCloudflare(ctx context.Context, o CloudflareOptions) (*Cloudflare, error) {
	opts := []option.RequestOption{
		option.WithEnvironmentProduction(),
		option.WithAPIToken(o.Token),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: o.Transport, Timeout: 30 * time.Second}),
	}
	if o.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(o.BaseURL))
	}
	c := &Cloudflare{records: dns.NewRecordService(opts...), zones: zones.NewZoneService(opts...), zoneID: o.Zone}
	if !grammar.IsZoneID(o.Zone) {
		var q zones.ZoneListParams
		q.Name.Value, q.Name.Present = o.Zone, true
		page, err := c.zones.List(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("looking up zone %q: %w", o.Zone, classify(err))
		}
		if len(page.Result) != 1 {
			return nil, fmt.Errorf("zone %q: the token sees %d zones of that name; give the zone id instead", o.Zone, len(page.Result))
		}
		c.zoneID = page.Result[0].ID
	}
	return c, nil
}

// ZoneID is the resolved zone id.
func (c *Cloudflare) ZoneID() string { return c.zoneID }

// listPageSize: a name has a handful of records, so one page answers. A short page is the last
// one. (The SDK's auto-pager always asks for one more, empty page: a second request per name per
// sync that this avoids. The SDK's result_info type has no total_pages to go by.)
const listPageSize = 100

func (c *Cloudflare) List(ctx context.Context, name string) ([]Existing, error) {
	var out []Existing
	for page := 1; ; page++ {
		var q dns.RecordListParams
		var exact dns.RecordListParamsName
		exact.Exact.Value, exact.Exact.Present = name, true
		q.ZoneID.Value, q.ZoneID.Present = c.zoneID, true
		q.Name.Value, q.Name.Present = exact, true
		q.Page.Value, q.Page.Present = float64(page), true
		q.PerPage.Value, q.PerPage.Present = float64(listPageSize), true
		res, err := c.records.List(ctx, q)
		if err != nil {
			return nil, classify(err)
		}
		for _, r := range res.Result {
			out = append(out, existing(r))
		}
		if len(res.Result) < listPageSize {
			return out, nil
		}
	}
}

func existing(r dns.RecordResponse) Existing {
	return Existing{ID: r.ID, Name: CanonicalName(r.Name), Type: string(r.Type), Content: r.Content,
		TTL: int(r.TTL), Proxied: r.Proxied, Comment: r.Comment}
}

// The SDK's request fields are param.Field values from an internal package; their exported
// Value and Present fields are set directly (cloudflare.F lives in the root package, see above).
func (s Settings) body(r Record) (dns.RecordNewParamsBodyUnion, error) {
	switch r.Type {
	case "A":
		var b dns.ARecordParam
		b.Name.Value, b.Name.Present = r.Name, true
		b.Type.Value, b.Type.Present = dns.ARecordTypeA, true
		b.Content.Value, b.Content.Present = r.Content, true
		b.TTL.Value, b.TTL.Present = dns.TTL(s.TTL), true
		b.Proxied.Value, b.Proxied.Present = s.Proxied, true
		b.Comment.Value, b.Comment.Present = OwnerComment(s.Owner), true
		return b, nil
	case "AAAA":
		var b dns.AAAARecordParam
		b.Name.Value, b.Name.Present = r.Name, true
		b.Type.Value, b.Type.Present = dns.AAAARecordTypeAAAA, true
		b.Content.Value, b.Content.Present = r.Content, true
		b.TTL.Value, b.TTL.Present = dns.TTL(s.TTL), true
		b.Proxied.Value, b.Proxied.Present = s.Proxied, true
		b.Comment.Value, b.Comment.Present = OwnerComment(s.Owner), true
		return b, nil
	}
	return nil, fmt.Errorf("record type %q is not managed", r.Type)
}

func (c *Cloudflare) Create(ctx context.Context, r Record, s Settings) (Existing, error) {
	body, err := s.body(r)
	if err != nil {
		return Existing{}, err
	}
	var p dns.RecordNewParams
	p.ZoneID.Value, p.ZoneID.Present = c.zoneID, true
	p.Body = body
	res, err := c.records.New(ctx, p)
	if err != nil {
		return Existing{}, classify(err)
	}
	return existing(*res), nil
}

// Update overwrites a record (PUT): content, TTL, proxied and the owner comment in one request.
func (c *Cloudflare) Update(ctx context.Context, id string, r Record, s Settings) (Existing, error) {
	body, err := s.body(r)
	if err != nil {
		return Existing{}, err
	}
	var p dns.RecordUpdateParams
	p.ZoneID.Value, p.ZoneID.Present = c.zoneID, true
	p.Body = body.(dns.RecordUpdateParamsBodyUnion)
	res, err := c.records.Update(ctx, id, p)
	if err != nil {
		return Existing{}, classify(err)
	}
	return existing(*res), nil
}

func (c *Cloudflare) Delete(ctx context.Context, id string) error {
	var p dns.RecordDeleteParams
	p.ZoneID.Value, p.ZoneID.Present = c.zoneID, true
	_, err := c.records.Delete(ctx, id, p)
	return classify(err)
}

// codeIdentical is Cloudflare's "An identical record already exists."
const codeIdentical = 81058

// classify turns the SDK's API errors into the cases the controller treats differently.
func classify(err error) error {
	var apiErr *dns.Error
	if err == nil || !errors.As(err, &apiErr) {
		return err
	}
	switch apiErr.StatusCode {
	case http.StatusTooManyRequests:
		return &RetryAfterError{Wait: retryAfter(apiErr.Response), Err: err}
	case http.StatusNotFound:
		return &NotFoundError{Err: err}
	}
	for _, e := range apiErr.Errors {
		if e.Code == codeIdentical {
			// The plan never writes an address another known record has; this one was made
			// since the last list. The failed sync drops what it knew and lists again.
			return fmt.Errorf("%w (an identical record was made since the last list; listing again)", err)
		}
	}
	return err
}

// retryAfter reads Retry-After (seconds or an HTTP date); without one, Cloudflare's documented
// window for its global limit applies, conservatively shortened to a minute.
func retryAfter(res *http.Response) time.Duration {
	const fallback = time.Minute
	if res == nil {
		return fallback
	}
	v := res.Header.Get("Retry-After")
	if v == "" {
		return fallback
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return fallback
}

// Transport is the controller's HTTP transport to Cloudflare: it counts requests by method and
// status, spaces them with a token bucket so the controller stays far under Cloudflare's 1,200
// requests per 5 minutes whatever happens, and, after a 429, holds every request until
// Retry-After has passed.
type Transport struct {
	Next    http.RoundTripper
	Limiter *rate.Limiter
	Observe func(method string, status int) // status 0: no response

	mu        sync.Mutex
	heldUntil time.Time
}

// DefaultLimiter allows 2 requests per second with bursts of 20: at most 620 per 5 minutes,
// about half of Cloudflare's limit, leaving room for people and other tools using the token.
func DefaultLimiter() *rate.Limiter { return rate.NewLimiter(2, 20) }

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	t.mu.Lock()
	until := t.heldUntil
	t.mu.Unlock()
	if wait := time.Until(until); wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	if t.Limiter != nil {
		if err := t.Limiter.Wait(ctx); err != nil {
			return nil, err
		}
	}
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	// A write is bounded by the leader lease (its context's deadline). A process paused past it
	// (SIGSTOP, a frozen VM) resumes with that deadline gone, maybe before the context's timer has
	// fired: nothing is sent then.
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return nil, context.DeadlineExceeded
	}
	res, err := next.RoundTrip(req)
	status := 0
	if res != nil {
		status = res.StatusCode
		if status == http.StatusTooManyRequests {
			t.mu.Lock()
			if u := time.Now().Add(retryAfter(res)); u.After(t.heldUntil) {
				t.heldUntil = u
			}
			t.mu.Unlock()
		}
	}
	if t.Observe != nil {
		t.Observe(req.Method, status)
	}
	return res, err
}
