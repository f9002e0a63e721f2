package dnssync

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/shoestring-dev/shoestring/internal/dnssync/grammar"
)

// Options are the controller's command line. Every flag has an environment fallback (DNSSYNC_*),
// so a Deployment can set either; a flag given explicitly wins.
type Options struct {
	Names         []string
	Zone          string // id (32 hex digits) or name
	TTL           int
	Proxied       bool
	OwnerID       string
	NodeSelector  string
	RequireReady  bool
	Schedulable   bool
	InternalIPs   bool
	DryRun        bool
	Once          bool
	Resync        time.Duration
	MetricsAddr   string
	Kubeconfig    string
	APIBaseURL    string
	TokenFile     string
	LeaderElect   bool
	LeaseName     string
	LeaseNS       string
	LogFormat     string
	ShutdownGrace time.Duration
	DeleteDelay   time.Duration
	Coalesce      time.Duration
	ForeignCheck  time.Duration

	LeaseDuration, RenewDeadline, RetryPeriod time.Duration

	// Token is read from CLOUDFLARE_API_TOKEN or the file named by --token-file (never a flag
	// value, which `ps` would show).
	Token string
}

// ParseOptions reads flags (args without the program name) with env fallbacks. Errors name the
// flag, its environment variable, the value and what is accepted.
func ParseOptions(args []string, getenv func(string) string, readFile func(string) ([]byte, error), stderr io.Writer) (*Options, error) {
	o := &Options{}
	fs := flag.NewFlagSet("dnssync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(flagName string) string {
		return "DNSSYNC_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
	}
	str := func(p *string, n, def, usage string) {
		if v := getenv(env(n)); v != "" {
			def = v
		}
		fs.StringVar(p, n, def, fmt.Sprintf("%s (env %s)", usage, env(n)))
	}
	var errs []error
	boolean := func(p *bool, n string, def bool, usage string) {
		if v := getenv(env(n)); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a boolean; use true or false", env(n), v))
			}
			def = b
		}
		fs.BoolVar(p, n, def, fmt.Sprintf("%s (env %s)", usage, env(n)))
	}
	integer := func(p *int, n string, def int, usage string) {
		if v := getenv(env(n)); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a whole number", env(n), v))
			}
			def = i
		}
		fs.IntVar(p, n, def, fmt.Sprintf("%s (env %s)", usage, env(n)))
	}
	duration := func(p *time.Duration, n string, def time.Duration, usage string) {
		if v := getenv(env(n)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a duration; write e.g. 10m", env(n), v))
			}
			def = d
		}
		fs.DurationVar(p, n, def, fmt.Sprintf("%s (env %s)", usage, env(n)))
	}
	var names string
	str(&names, "names", "", "comma-separated DNS names whose A/AAAA records follow the nodes (required)")
	str(&o.Zone, "zone", "", "Cloudflare zone: its id (32 hex digits) or its name (required)")
	integer(&o.TTL, "ttl", 120, "TTL of the records in seconds, 60-86400, or 1 for automatic")
	boolean(&o.Proxied, "proxied", false, "proxy the records through Cloudflare")
	str(&o.OwnerID, "owner-id", "", "owner id written into each record's comment; records with another comment are never touched (required)")
	str(&o.NodeSelector, "node-selector", "", "label selector of the nodes to publish, e.g. role=edge")
	boolean(&o.RequireReady, "require-ready", true, "publish only nodes whose Ready condition is True")
	boolean(&o.Schedulable, "require-schedulable", true, "skip cordoned nodes")
	boolean(&o.InternalIPs, "internal-ip-fallback", false, "use a node's InternalIP when it has no ExternalIP")
	boolean(&o.DryRun, "dry-run", false, "log the changes instead of making them")
	boolean(&o.Once, "once", false, "sync once and exit (non-zero on failure)")
	duration(&o.Resync, "resync", 10*time.Minute, "how often to list the records again and repair drift (0: never; at least 1m)")
	str(&o.MetricsAddr, "metrics-addr", ":8080", "address of /metrics, /healthz and /readyz (empty: off)")
	str(&o.Kubeconfig, "kubeconfig", getenv("KUBECONFIG"), "kubeconfig when running outside the cluster (env also KUBECONFIG)")
	str(&o.APIBaseURL, "api-base-url", "", "Cloudflare API base URL (default: the real API)")
	str(&o.TokenFile, "token-file", "", "file holding the Cloudflare API token (else env CLOUDFLARE_API_TOKEN)")
	boolean(&o.LeaderElect, "leader-elect", false, "take a Lease before syncing (needed when more than one replica runs)")
	str(&o.LeaseName, "lease-name", "dnssync", "name of the Lease")
	str(&o.LeaseNS, "lease-namespace", getenv("POD_NAMESPACE"), "namespace of the Lease (env also POD_NAMESPACE)")
	str(&o.LogFormat, "log-format", "json", "json or text")
	duration(&o.DeleteDelay, "delete-delay", time.Second, "hold deletions until node events have been quiet this long (nodes vanishing together never shrink the name to nothing)")
	duration(&o.Coalesce, "coalesce", time.Second, "while node events keep coming, sync a name at most this often: a change when nothing is pending is synced at once, changes during a sync or within 150ms after a write are coalesced into one trailing sync, and after a write that coalesced several the window is this long (0: every event at once)")
	duration(&o.ForeignCheck, "foreign-recheck", time.Minute, "while an address is served only by a record another owner made, list the name again this often, to create our own when it is removed (0: only at --resync)")
	duration(&o.LeaseDuration, "lease-duration", 15*time.Second, "leader election: how long a standby waits for a silent leader before taking the Lease")
	duration(&o.RenewDeadline, "renew-deadline", 10*time.Second, "leader election: a leader that could not renew for this long stops writing (below --lease-duration)")
	duration(&o.RetryPeriod, "retry-period", 2*time.Second, "leader election: how often the Lease is renewed or tried")
	duration(&o.ShutdownGrace, "shutdown-grace", 10*time.Second, "how long syncs in flight may finish after SIGTERM")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args()))
	}
	for _, n := range strings.Split(names, ",") {
		if n = CanonicalName(n); n != "" {
			o.Names = append(o.Names, n)
		}
	}
	errs = append(errs, o.validate()...)
	if len(errs) == 0 {
		tok, err := readToken(o.TokenFile, getenv, readFile)
		if err != nil {
			errs = append(errs, err)
		}
		o.Token = tok
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return o, nil
}

func (o *Options) validate() []error {
	var errs []error
	bad := func(flagName, value, problem, fix string) {
		errs = append(errs, fmt.Errorf("--%s %q %s; %s", flagName, value, problem, fix))
	}
	if len(o.Names) == 0 {
		bad("names", "", "is required", "give the DNS names to keep, e.g. --names k.example.com (or DNSSYNC_NAMES)")
	}
	for _, n := range o.Names {
		if !grammar.IsDomainName(n) {
			bad("names", n, "is not a DNS name", "use a fully qualified name such as k.example.com")
		} else if o.Zone != "" && !grammar.IsZoneID(o.Zone) {
			z := CanonicalName(o.Zone)
			if n != z && !strings.HasSuffix(n, "."+z) {
				bad("names", n, "is not in the zone "+z, "use a name that ends in ."+z)
			}
		}
	}
	if o.Zone == "" {
		bad("zone", "", "is required", "give the zone's id (32 hex digits) or name, e.g. --zone example.com")
	} else if !grammar.IsZoneID(o.Zone) && !grammar.IsDomainName(CanonicalName(o.Zone)) {
		bad("zone", o.Zone, "is neither a zone id nor a domain name", "give 32 hex digits or a name such as example.com")
	}
	if o.TTL != 1 && (o.TTL < 60 || o.TTL > 86400) {
		bad("ttl", strconv.Itoa(o.TTL), "is out of range", "use 60 to 86400 seconds, or 1 for automatic (default 120)")
	}
	if o.Proxied && o.TTL != 1 {
		// Cloudflare ignores the TTL of proxied records and reports 1; asking for another one would
		// show up as drift on every resync.
		bad("ttl", strconv.Itoa(o.TTL), "is ignored by Cloudflare for proxied records", "set --ttl 1 with --proxied")
	}
	if !grammar.IsOwnerID(o.OwnerID) {
		bad("owner-id", o.OwnerID, "is not a valid owner id", "use 1-63 letters, digits, '-', '_' or '.', unique per cluster sharing the zone")
	}
	if _, err := labels.Parse(o.NodeSelector); err != nil {
		bad("node-selector", o.NodeSelector, "is not a label selector: "+err.Error(), "write e.g. role=edge,!spot")
	}
	if o.Resync != 0 && o.Resync < time.Minute {
		bad("resync", o.Resync.String(), "is too short: each resync costs one request per name", "use 1m or more (default 10m), or 0 to disable")
	}
	if o.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(o.MetricsAddr); err != nil {
			bad("metrics-addr", o.MetricsAddr, "is not host:port", "write e.g. :8080 or 127.0.0.1:8080")
		}
	}
	if o.APIBaseURL != "" {
		u, err := url.Parse(o.APIBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("api-base-url", o.APIBaseURL, "is not an http(s) URL", "write e.g. https://api.cloudflare.com/client/v4/")
		}
	}
	if o.LeaderElect && o.LeaseNS == "" {
		bad("lease-namespace", "", "is required with --leader-elect", "set it or POD_NAMESPACE (the Downward API's metadata.namespace)")
	}
	if o.DeleteDelay < 0 || o.DeleteDelay > time.Minute {
		bad("delete-delay", o.DeleteDelay.String(), "is out of range", "use 0 (off) to 1m (default 1s)")
	}
	if o.Coalesce < 0 || o.Coalesce > 10*time.Second {
		bad("coalesce", o.Coalesce.String(), "is out of range", "use 0 (off) to 10s (default 1s)")
	}
	if o.ForeignCheck != 0 && (o.ForeignCheck < 10*time.Second || (o.Resync > 0 && o.ForeignCheck > o.Resync)) {
		bad("foreign-recheck", o.ForeignCheck.String(), "is out of range: each check costs one request per name",
			"use 10s up to --resync (default 1m), or 0 to rely on --resync")
	}
	if o.LeaderElect {
		if o.LeaseDuration < 2*time.Second || o.LeaseDuration%time.Second != 0 {
			bad("lease-duration", o.LeaseDuration.String(), "is not whole seconds of at least 2s", "use e.g. 15s (the Lease stores whole seconds)")
		}
		if o.RenewDeadline <= 0 || o.RenewDeadline >= o.LeaseDuration {
			bad("renew-deadline", o.RenewDeadline.String(), "must be above 0 and below --lease-duration "+o.LeaseDuration.String(),
				"use e.g. 10s with a 15s lease: a leader that cannot renew must stop before a standby may take over")
		}
		if o.RetryPeriod <= 0 || o.RetryPeriod >= o.RenewDeadline {
			bad("retry-period", o.RetryPeriod.String(), "must be above 0 and below --renew-deadline "+o.RenewDeadline.String(),
				"use e.g. 2s, so a leader gets several tries to renew")
		}
	}
	if o.LogFormat != "json" && o.LogFormat != "text" {
		bad("log-format", o.LogFormat, "is not a log format", `use "json" or "text"`)
	}
	if o.Once && o.LeaderElect {
		bad("once", "true", "cannot be combined with --leader-elect", "run one instance with --once")
	}
	return errs
}

func readToken(file string, getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	if file != "" {
		b, err := readFile(file)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("--token-file %q is empty; mount the Secret holding the Cloudflare API token there", file)
	}
	if t := strings.TrimSpace(getenv("CLOUDFLARE_API_TOKEN")); t != "" {
		return t, nil
	}
	return "", errors.New("no Cloudflare API token: set CLOUDFLARE_API_TOKEN or --token-file (a token with Zone.DNS edit on the zone)")
}

// OSOptions parses os.Args and the process environment.
func OSOptions(stderr io.Writer) (*Options, error) {
	return ParseOptions(os.Args[1:], os.Getenv, os.ReadFile, stderr)
}

// Config maps the options to the controller's configuration.
func (o *Options) Config() Config {
	off := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1 // off (Config's zero value means the default)
		}
		return d
	}
	return Config{
		Names:          o.Names,
		Settings:       Settings{TTL: o.TTL, Proxied: o.Proxied, Owner: o.OwnerID},
		Selection:      Selection{RequireReady: o.RequireReady, RequireSchedulable: o.Schedulable, InternalFallback: o.InternalIPs},
		Resync:         o.Resync,
		DryRun:         o.DryRun,
		DeleteDelay:    off(o.DeleteDelay),
		Coalesce:       off(o.Coalesce),
		ForeignRecheck: off(o.ForeignCheck),
	}
}
