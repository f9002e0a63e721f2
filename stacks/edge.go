package stacks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// EdgeConfig is the nginx edge on every node: no cloud load balancer, nginx on each
// node's host network, its nginx.conf generated from the services' routes.
type EdgeConfig struct {
	Edge Edge `config:"edge"`
}

// Edge is the `shoestring:edge` key.
type Edge struct {
	// Image is the nginx image; it needs a POSIX shell and awk (the start script reads the pod's
	// nameserver), which the official alpine images have.
	Image string `json:"image"`
	// Namespace is the edge's own namespace, the only one labelled for the privileged Pod Security
	// level (host network and host ports).
	Namespace string `json:"namespace"`
	// Resources are the nginx container's requests and memory limit.
	Resources EdgeResources `json:"resources"`
	// CertificateSecret names the kubernetes.io/tls Secret in Namespace that the edge serves HTTPS
	// with; Certificate says who provides it. Empty: HTTPS is not served and port 443 stays closed.
	CertificateSecret string          `json:"certificateSecret"`
	Certificate       EdgeCertificate `json:"certificate"`
	// ConnectTimeout, ReadTimeout and SendTimeout bound the proxied requests (nginx durations).
	ConnectTimeout string `json:"connectTimeout"`
	ReadTimeout    string `json:"readTimeout"`
	SendTimeout    string `json:"sendTimeout"`
	// ClientMaxBodySize is the largest request body accepted (nginx size, e.g. "10m").
	ClientMaxBodySize string `json:"clientMaxBodySize"`
	// Resolver lists DNS servers for upstream names (address or address:port). Empty: the pod's
	// own nameserver, read from /etc/resolv.conf when the container starts (the cluster DNS, as the
	// pod uses dnsPolicy ClusterFirstWithHostNet).
	Resolver []string `json:"resolver"`
	// ClusterDomain ends every upstream name: <service>.<namespace>.svc.<ClusterDomain>.
	ClusterDomain string `json:"clusterDomain"`
	// HealthPort serves /healthz for the readiness probe, on the node's network.
	HealthPort int `json:"healthPort"`
	// Playgrounds routes each playground's host to its gateway service.
	Playgrounds EdgePlaygrounds `json:"playgrounds"`
	// Routes are routes the edge owns that are not declared on a service of this stack's
	// `shoestring:services`, e.g. a second host for a service; each names its target service.
	Routes []EdgeRoute `json:"routes"`
}

// EdgeCertificate is `shoestring:edge.certificate`: where the certificate in certificateSecret
// comes from. A Secret that nothing provides would keep every edge pod from starting, so a
// certificateSecret without a source is refused at preview.
type EdgeCertificate struct {
	// Source is CertificateOriginCA, CertificateStack or CertificateExternal.
	Source string `json:"source"`
	// Hostnames the Origin CA certificate covers (originCA only). Default: every routed host and,
	// with playgrounds, *.<playground domain>.
	Hostnames []string `json:"hostnames"`
	// ValidityDays of the Origin CA certificate: one of OriginCAValidities (default 5475, 15 years).
	ValidityDays int `json:"validityDays"`
	// RenewDays: an update within this many days of the expiry requests a new certificate.
	RenewDays int `json:"renewDays"`
}

// Certificate sources.
const (
	// CertificateOriginCA: the program requests a Cloudflare Origin CA certificate for the stack's
	// key (secrets.edge.ORIGIN_CA_KEY and its request secrets.edge.ORIGIN_CA_CSR, made once by
	// `shoestring edge-key`) with the API token secrets.edge.CLOUDFLARE_API_TOKEN, and creates the
	// Secret. Browsers trust it only through Cloudflare's proxy.
	CertificateOriginCA = "originCA"
	// CertificateStack: the stack's secrets hold the certificate chain and key (secrets.edge.TLS_CRT,
	// secrets.edge.TLS_KEY, PEM); the program creates the Secret.
	CertificateStack = "stack"
	// CertificateExternal: something outside this program (e.g. cert-manager) creates the Secret in
	// the edge namespace before the edge pods can start.
	CertificateExternal = "external"
)

// Names under shoestring:secrets.edge.
const (
	EdgeSecretGroup        = "edge"
	EdgeOriginCAKeyName    = "ORIGIN_CA_KEY"
	EdgeOriginCACSRName    = "ORIGIN_CA_CSR"
	EdgeOriginCATokenName  = "CLOUDFLARE_API_TOKEN"
	EdgeTLSCertificateName = "TLS_CRT"
	EdgeTLSKeyName         = "TLS_KEY"
)

// OriginCAValidities are the validities (days) Cloudflare's Origin CA issues.
var OriginCAValidities = []int{7, 30, 90, 365, 730, 1095, 5475}

// EdgeResources are the nginx container's requests (it shares a small node) and memory limit.
type EdgeResources struct {
	// CPU request (a Kubernetes quantity, e.g. "50m").
	CPU string `json:"cpu"`
	// Memory request (e.g. "32Mi").
	Memory string `json:"memory"`
	// MemoryLimit is the container's memory limit.
	MemoryLimit string `json:"memoryLimit"`
}

// EdgePlaygrounds routes <feature>.<Domain> to the GatewayService of the playground namespace
// PlaygroundNamePrefix+<feature>. An empty Domain turns playground routing off.
// GatewayService is one of this stack's services (every playground deploys it); GatewayPort is one
// of its ports, by name or number, like a route's port (default: its first port).
type EdgePlaygrounds struct {
	// Domain: the edge routes <feature>.<Domain> to playground <feature>; empty turns playground
	// routing off.
	Domain string `json:"domain"`
	// GatewayService is the service a playground's host goes to; one of this stack's services,
	// deployed by every playground.
	GatewayService string `json:"gatewayService"`
	// GatewayPort is the gateway's port, by name or number (default: its first port).
	GatewayPort string `json:"gatewayPort"`
	// GatewayServices are several gateways (every playground deploys each), in place of
	// gatewayService: the first is reached at <feature>.<domain> (on gatewayPort), each other one
	// at <feature>-<service>.<domain> on its first port (one label, so the *.<domain> certificate
	// and DNS record cover it; a feature whose name ends in -<service> is shadowed by that route).
	// Default: none (gatewayService alone).
	GatewayServices []string `json:"gatewayServices"`
}

// Route sends requests for Host (and PathPrefix) to a service's port. Declared per service
// (Service.Routes).
type Route struct {
	// Host is the host name the route answers (lowercased; a leading "*." is a wildcard).
	Host string `json:"host"`
	// PathPrefix limits the route to paths under it (starts with "/"; default "/").
	PathPrefix string `json:"pathPrefix"`
	Port       string `json:"port"` // a port name of the service, or its number; default: its first port
}

// EdgeRoute is a route in `shoestring:edge.routes`: a Route plus the service it goes to.
type EdgeRoute struct {
	// Service is the route's target, one of this stack's services.
	Service string `json:"service"`
	Route
}

// ResolvedRoute is a validated route with its target spelled out, ready for the edge component.
type ResolvedRoute struct {
	Key        string // the config key it came from, e.g. "shoestring:services[0].routes[1]"
	Host       string // lowercased
	PathPrefix string // starts with "/"
	Namespace  string
	Service    string
	Port       int
}

func (c *EdgeConfig) defaults() {
	c.Edge = Edge{
		Image:             "nginx:1.27.3-alpine",
		Namespace:         "edge",
		Resources:         EdgeResources{CPU: "10m", Memory: "16Mi", MemoryLimit: "64Mi"},
		ConnectTimeout:    "5s",
		ReadTimeout:       "60s",
		SendTimeout:       "60s",
		ClientMaxBodySize: "10m",
		ClusterDomain:     "cluster.local",
		HealthPort:        10254,
		Playgrounds:       EdgePlaygrounds{GatewayService: "gateway"},
		Certificate:       EdgeCertificate{ValidityDays: 5475, RenewDays: 30},
	}
}

// The nginx.conf grammars below are nginx's own (no Go library parses them), restricted to what
// this program writes into the file; names, addresses and images use the libraries in grammar.go.
var (
	// nginx durations: a number with an optional unit (ms, s, m, h, d); one value is enough here.
	nginxDurationRe = regexp.MustCompile(`^[1-9][0-9]*(ms|s|m|h|d)?$`)
	// nginx sizes: bytes, or a number with a k or m (g also works for client_max_body_size).
	nginxSizeRe = regexp.MustCompile(`^[0-9]+[kKmMgG]?$`)
	// A path prefix is plain URL path characters: no spaces, quotes, braces or semicolons, which
	// would end or break the nginx `location` it becomes, and no regex meaning.
	pathPrefixRe = regexp.MustCompile(`^/[A-Za-z0-9._~!$&'()*+,=:@%/-]*$`)
)

// CheckHostname says what is wrong with a route host, or "" when it is an RFC 1123 host name of
// at most 253 characters whose labels are at most 63; a "*" may only be the whole leftmost label.
func CheckHostname(h string) string {
	if h == "" {
		return "is empty"
	}
	if len(h) > 253 {
		return "is longer than 253 characters"
	}
	if h != strings.ToLower(h) {
		return "has upper-case letters"
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return "is not a fully qualified host name"
	}
	for i, l := range labels {
		if l == "*" {
			if i != 0 {
				return "has a wildcard that is not the leftmost label"
			}
			continue
		}
		if strings.Contains(l, "*") {
			return "has a wildcard that is not a whole label"
		}
		if !isDNSLabel(l) {
			return fmt.Sprintf("has an invalid label %q", l)
		}
	}
	return ""
}

const hostFix = "use a lowercase RFC 1123 host name such as \"shop.example.com\", or \"*.example.com\" for every subdomain"

func (c *EdgeConfig) checkAndFillDefaults(cfg *Config) []FieldError {
	const k = Namespace + ":edge"
	e := &c.Edge
	var errs []FieldError
	errs = append(errs, checkImage(k+".image", e.Image)...)
	if !isDNSLabel(e.Namespace) {
		errs = append(errs, fieldErr(k+".namespace", e.Namespace, "is not a namespace name", "use a DNS-1123 label such as \"edge\""))
	} else if e.Namespace == cfg.Namespace {
		errs = append(errs, fieldErr(k+".namespace", e.Namespace, "is the services' namespace, which must stay at the restricted Pod Security level",
			"give the edge its own namespace, e.g. \"edge\" (it is labelled privileged for host network and ports)"))
	}
	for _, q := range []struct{ key, v string }{{"cpu", e.Resources.CPU}, {"memory", e.Resources.Memory}, {"memoryLimit", e.Resources.MemoryLimit}} {
		if _, err := resource.ParseQuantity(q.v); err != nil {
			errs = append(errs, fieldErr(k+".resources."+q.key, q.v, "is not a Kubernetes quantity", "use a value such as \"10m\" (CPU) or \"64Mi\" (memory)"))
		}
	}
	if mem, err1 := resource.ParseQuantity(e.Resources.Memory); err1 == nil {
		if lim, err2 := resource.ParseQuantity(e.Resources.MemoryLimit); err2 == nil && lim.Cmp(mem) < 0 {
			errs = append(errs, fieldErr(k+".resources.memoryLimit", e.Resources.MemoryLimit, "is below resources.memory "+e.Resources.Memory,
				"set a limit at least as large as the request"))
		}
	}
	if e.CertificateSecret != "" && !isDNSSubdomain(e.CertificateSecret) {
		errs = append(errs, fieldErr(k+".certificateSecret", e.CertificateSecret, "is not a Secret name",
			"name a kubernetes.io/tls Secret in the edge namespace, e.g. \"edge-tls\", or leave it empty to serve HTTP only"))
	}
	errs = append(errs, c.checkCertificate(cfg)...)
	for _, d := range []struct{ key, v string }{{"connectTimeout", e.ConnectTimeout}, {"readTimeout", e.ReadTimeout}, {"sendTimeout", e.SendTimeout}} {
		if !nginxDurationRe.MatchString(d.v) {
			errs = append(errs, fieldErr(k+"."+d.key, d.v, "is not an nginx duration", "use a positive number with a unit, e.g. \"5s\", \"500ms\" or \"2m\""))
		}
	}
	if !nginxSizeRe.MatchString(e.ClientMaxBodySize) {
		errs = append(errs, fieldErr(k+".clientMaxBodySize", e.ClientMaxBodySize, "is not an nginx size", "use a number with an optional k, m or g suffix, e.g. \"10m\" (\"0\" means no limit)"))
	}
	for i, r := range e.Resolver {
		if !isServerAddress(r) {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.resolver[%d]", k, i), r, "is not a DNS server address",
				"use an IP address or host name with an optional port, e.g. \"10.0.0.10\" or \"[fd00::a]:53\"; leave the list empty to use the pod's nameserver"))
		}
	}
	if msg := CheckHostname("x." + e.ClusterDomain); e.ClusterDomain == "" || msg != "" || strings.Contains(e.ClusterDomain, "*") {
		errs = append(errs, fieldErr(k+".clusterDomain", e.ClusterDomain, "is not a DNS domain", "use the cluster's DNS domain, normally \"cluster.local\""))
	}
	if e.HealthPort < 1 || e.HealthPort > 65535 || e.HealthPort == 80 || e.HealthPort == 443 {
		errs = append(errs, fieldErr(k+".healthPort", e.HealthPort, "is not a free port for the health endpoint",
			"use a port from 1 to 65535 other than 80 and 443, e.g. 10254"))
	}
	errs = append(errs, e.Playgrounds.check(k+".playgrounds", cfg)...)
	errs = append(errs, cfg.checkPlaygroundHostFree()...)
	_, routeErrs := cfg.resolveRoutes()
	return append(errs, routeErrs...)
}

func (p *EdgePlaygrounds) check(k string, cfg *Config) []FieldError {
	if p.Domain == "" {
		return nil
	}
	var errs []FieldError
	gwKey := k + ".gatewayService"
	if len(p.GatewayServices) > 0 {
		errs = append(errs, p.checkGateways(k, cfg)...)
		gwKey = k + ".gatewayServices[0]"
	}
	// A playground deploys the base stack's gateway service: it must be one of the services here,
	// listening on gatewayPort. (In a playground stack the dev tooling checks it is deployed.)
	var gw *Service
	for i := range cfg.Services {
		if cfg.Services[i].Name == p.GatewayService {
			gw = &cfg.Services[i]
		}
	}
	switch {
	case gw == nil && !cfg.Playground.IsPlayground():
		errs = append(errs, fieldErr(gwKey, p.GatewayService, "is not a service of this stack, so playgrounds would have no gateway",
			"name the service <feature>."+p.Domain+" should reach: one of "+strings.Join(serviceNames(cfg.Services), ", ")))
	case gw != nil:
		if _, msg := servicePort(gw, p.GatewayPort); msg != "" {
			errs = append(errs, fieldErr(k+".gatewayPort", p.GatewayPort, msg, portFix(gw)))
		}
	}
	if msg := CheckHostname(p.Domain); msg != "" || strings.HasPrefix(p.Domain, "*") {
		if msg == "" {
			msg = "is a wildcard"
		}
		errs = append(errs, fieldErr(k+".domain", p.Domain, msg, "use the domain the playgrounds live under, e.g. \"play.example.com\" (<feature>.play.example.com reaches a playground)"))
	}
	return errs
}

// EdgeRoutes are every edge route of the stack (services' routes first, then `shoestring:edge.routes`),
// with their targets resolved. Only valid for a Config that Parse accepted.
func (c *Config) EdgeRoutes() []ResolvedRoute {
	routes, _ := c.resolveRoutes()
	return routes
}

// resolveRoutes resolves each route's service and port and finds invalid hosts and paths, routes
// to unknown services or ports, conflicting routes and routes that shadow the playgrounds.
func (c *Config) resolveRoutes() ([]ResolvedRoute, []FieldError) {
	var out []ResolvedRoute
	var errs []FieldError
	services := map[string]*Service{}
	for i := range c.Services {
		services[c.Services[i].Name] = &c.Services[i]
	}
	add := func(key string, svc *Service, r Route) {
		host, path := strings.ToLower(r.Host), r.PathPrefix
		ok := true
		if msg := CheckHostname(r.Host); msg != "" {
			errs = append(errs, fieldErr(key+".host", r.Host, msg, hostFix))
			ok = false
		}
		if path == "" {
			path = "/"
		}
		if !pathPrefixRe.MatchString(path) || strings.Contains(path, "//") {
			errs = append(errs, fieldErr(key+".pathPrefix", r.PathPrefix, "is not a URL path prefix",
				"start with \"/\" and use only URL path characters (no spaces, quotes, braces, semicolons or \"//\"), e.g. \"/api\""))
			ok = false
		}
		port, perr := servicePort(svc, r.Port)
		if perr != "" {
			errs = append(errs, fieldErr(key+".port", r.Port, perr, portFix(svc)))
			ok = false
		}
		if ok {
			out = append(out, ResolvedRoute{Key: key, Host: host, PathPrefix: path, Namespace: c.Namespace, Service: svc.Name, Port: port})
		}
	}
	for i := range c.Services {
		s := &c.Services[i]
		for j, r := range s.Routes {
			add(fmt.Sprintf("%s:services[%d].routes[%d]", Namespace, i, j), s, r)
		}
	}
	for i, r := range c.Edge.Routes {
		key := fmt.Sprintf("%s:edge.routes[%d]", Namespace, i)
		svc, known := services[r.Service]
		if !known {
			errs = append(errs, fieldErr(key+".service", r.Service, "is not a service of this stack",
				"name one of the services in shoestring:services: "+strings.Join(serviceNames(c.Services), ", ")))
			continue
		}
		add(key, svc, r.Route)
	}
	errs = append(errs, routeConflicts(out, c.Edge.Playgrounds.Domain)...)
	return out, errs
}

// routeConflicts finds two routes for the same host and path prefix with different targets, and
// routes that take hosts away from the playgrounds. Paths "/api" and "/api/" are the same prefix.
func routeConflicts(routes []ResolvedRoute, playgroundDomain string) []FieldError {
	var errs []FieldError
	first := map[string]ResolvedRoute{}
	for _, r := range routes {
		id := r.Host + " " + strings.TrimSuffix(r.PathPrefix, "/")
		if prev, seen := first[id]; seen {
			if prev.Service != r.Service || prev.Port != r.Port {
				errs = append(errs, fieldErr(r.Key, r.Host+r.PathPrefix,
					fmt.Sprintf("conflicts with %s, which sends the same host and path to %s:%d instead of %s:%d", prev.Key, prev.Service, prev.Port, r.Service, r.Port),
					"give one of them another host or pathPrefix, or remove one"))
			}
			continue
		}
		first[id] = r
	}
	if playgroundDomain != "" {
		for _, r := range routes {
			parent := r.Host[strings.Index(r.Host, ".")+1:]
			// nginx prefers any wildcard name to the playgrounds' regex, and "*.example.com" also
			// matches "x.play.example.com".
			wildcardOver := strings.HasPrefix(r.Host, "*.") && (playgroundDomain == parent || strings.HasSuffix(playgroundDomain, "."+parent))
			if wildcardOver {
				errs = append(errs, fieldErr(r.Key+".host", r.Host,
					"would take every <feature>."+playgroundDomain+" away from the playgrounds (nginx prefers wildcard names)",
					"route the exact host names instead, or move edge.playgrounds.domain out from under it"))
				continue
			}
			// An exact host inside the playground domain is allowed: nginx prefers exact names to
			// the playgrounds' regex, and a playground stack refuses a host a route has
			// (checkPlaygroundHostFree). On a free Cloudflare plan the playground domain is the zone,
			// where the stack's own names are too.
		}
	}
	return errs
}

// servicePort resolves a route's port (a port name, a number, or "" for the first port).
func servicePort(s *Service, p string) (int, string) {
	if len(s.Ports) == 0 {
		return 0, fmt.Sprintf("cannot be resolved: service %q has no ports", s.Name)
	}
	if p == "" {
		return s.Ports[0].Port, ""
	}
	for _, sp := range s.Ports {
		if sp.Name == p || strconv.Itoa(sp.Port) == p {
			return sp.Port, ""
		}
	}
	return 0, fmt.Sprintf("is not a port of service %q", s.Name)
}

func portFix(s *Service) string {
	if len(s.Ports) == 0 {
		return fmt.Sprintf("add a port to service %q in shoestring:services", s.Name)
	}
	var ps []string
	for _, sp := range s.Ports {
		if sp.Name != "" {
			ps = append(ps, fmt.Sprintf("%q (%d)", sp.Name, sp.Port))
		} else {
			ps = append(ps, strconv.Itoa(sp.Port))
		}
	}
	return "use one of its ports: " + strings.Join(ps, ", ") + ", or leave port empty for the first"
}

func serviceNames(ss []Service) []string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = fmt.Sprintf("%q", s.Name)
	}
	if len(names) == 0 {
		return []string{"(none declared)"}
	}
	return names
}
