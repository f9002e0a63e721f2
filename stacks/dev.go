package stacks

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DevConfig is the developer tooling: playgrounds per feature branch, dev mode with an
// SSH/SFTP sidecar and local images and code mounts for the dev stack.
type DevConfig struct {
	Playground Playground `config:"playground"`
	DevMode    DevMode    `config:"devMode"`
	LocalDev   LocalDev   `config:"localDev"`
}

// Playground has two roles. In a base stack (sandbox) it says how playgrounds made from it are
// managed (MaxAge, Sources); their host <feature>.<domain> and gateway service are the edge's
// (shoestring:edge.playgrounds), the one place the edge routes them from. In a playground stack, which `shoestring playground up` makes
// from the base stack's file, Branch is set too: the stack then deploys into its own namespace and
// its pods fall back to BaseNamespace through their DNS search path.
type Playground struct {
	// MaxAge is the age after which the reaper destroys a playground even if its branch still
	// exists: a Go duration ("72h") or whole days ("7d"); "0" for no limit.
	MaxAge string `json:"maxAge"`
	// Sources maps a service to its folder in the repository, to find the services a branch
	// changes; a service without an entry is looked for in services/<name>.
	Sources map[string]string `json:"sources"`

	// Set in playground stacks (by `shoestring playground up`):
	// Branch is the git branch the playground belongs to (play/<feature>); it marks the stack as a
	// playground for the reaper.
	Branch string `json:"branch"`
	// BaseNamespace is where services the playground does not deploy are resolved.
	BaseNamespace string `json:"baseNamespace"`
	// Created is when the playground was made (RFC 3339), for the reaper and the report.
	Created string `json:"created"`
}

// DevMode runs chosen services with an SSH/SFTP sidecar that shares the app's code folder:
// developers edit the running code with their IDE's SFTP support.
type DevMode struct {
	// Allowed says whether this stack may run services in dev mode (false in prod, as shipped).
	Allowed bool `json:"allowed"`
	// Services are the services running in dev mode.
	Services []DevModeService `json:"services"`
	// AuthorizedKeys maps each developer to an SSH public key ("ssh-ed25519 AAAA... alice@laptop");
	// each may log in to the dev-mode sidecars of the services whose developers name them (every
	// service's, by default).
	AuthorizedKeys map[string]string `json:"authorizedKeys"`
	// SidecarImage is the SSH/SFTP server, run as uid/gid on a read-only root: the repository's
	// dev-sftp image (internal/localimages/files/openssh-server.Dockerfile, built and pinned by CI
	// like the services' images; the dev stack uses the same build made locally) or another image
	// with its contract: linuxserver.io's openssh-server environment (USER_NAME, PUID/PGID,
	// PUBLIC_KEY_DIR, PASSWORD_ACCESS), port 2222, starting as a non-root user.
	SidecarImage string `json:"sidecarImage"`
	// User is the login name on the sidecar.
	User string `json:"user"`
	// UID and GID the sidecar's user runs as (files the developer writes get them).
	UID int `json:"uid"`
	GID int `json:"gid"`
	// LocalPortBase is the first local port of the port-forward commands in the stack outputs; the
	// n-th dev-mode service gets LocalPortBase+n.
	LocalPortBase int `json:"localPortBase"`
}

// DevModeService is one service in dev mode.
type DevModeService struct {
	// Name is the service, one this stack deploys.
	Name string `json:"name"`
	// CodePath is where the image holds the code, copied into the shared volume at start and
	// mounted there in both the app and the sidecar.
	CodePath string `json:"codePath"`
	// Developers are the names under authorizedKeys whose keys this service's sidecar accepts;
	// none: every developer's.
	Developers []string `json:"developers"`
}

// LocalDev is for the dev stack on a local cluster: images built locally and code
// mounted from the developer's machine (interpreted languages see edits without a rebuild).
type LocalDev struct {
	// ImagePullPolicy for every service container: "" (Kubernetes' default), "Always",
	// "IfNotPresent" or "Never" (only images already on the node, e.g. built by skaffold or
	// `minikube image build`).
	ImagePullPolicy string `json:"imagePullPolicy"`
	// CodeMounts mount host folders into services' containers.
	CodeMounts []CodeMount `json:"codeMounts"`
	// SameSecrets lists sets of secrets ("<group>.<NAME>", under shoestring:secrets) that hold
	// one value, e.g. [api.DB_PASSWORD, mysql.MYSQL_PASSWORD]: when a local run generates the
	// secrets a stack does not set, each set gets one value, so the service logs in to the
	// database with the password it was initialised with.
	SameSecrets [][]string `json:"sameSecrets"`
}

// CodeMount mounts HostPath (a folder on the node: with minikube or kind, a folder shared with the
// developer's machine) at Path in a service's container.
type CodeMount struct {
	// Service is the service whose containers get the mount.
	Service string `json:"service"`
	// HostPath is the folder on the node.
	HostPath string `json:"hostPath"`
	// Path is where the folder appears in the containers.
	Path string `json:"path"`
}

// Defaults of the dev tooling.
const (
	DefaultPlaygroundMaxAge = "7d"
	DefaultDevSidecarImage  = "ghcr.io/shoestring-dev/dev-sftp:1.0.0"
	DefaultDevUser          = "dev"
	DefaultDevCodePath      = "/app"
	DefaultDevUID           = 1000
	DefaultDevLocalPortBase = 2222
)

func (c *DevConfig) defaults() {
	c.Playground = Playground{MaxAge: DefaultPlaygroundMaxAge}
	c.DevMode = DevMode{SidecarImage: DefaultDevSidecarImage, User: DefaultDevUser, UID: DefaultDevUID, GID: DefaultDevUID,
		LocalPortBase: DefaultDevLocalPortBase}
}

// IsPlayground says whether this stack is a playground (made by `shoestring playground up`).
func (p *Playground) IsPlayground() bool { return p.Branch != "" }

// MaxAgeDuration is MaxAge parsed; 0 means no limit.
func (p *Playground) MaxAgeDuration() time.Duration {
	d, _ := parseAge(p.MaxAge) // validated by check
	return d
}

// Name is the playground's names from its branch (valid once the config passed check).
func (p *Playground) Name() PlaygroundName {
	n, _ := PlaygroundForBranch(p.Branch)
	return n
}

// PlaygroundSearchDomains is the extra pod DNS search path of a playground's pods (the base
// namespace's services); nil outside playgrounds.
func (c *Config) PlaygroundSearchDomains() []string {
	if !c.Playground.IsPlayground() {
		return nil
	}
	return PlaygroundSearchDomains(c.Playground.BaseNamespace, c.Edge.ClusterDomain)
}

// PlaygroundHost is a playground stack's public host, "" without a playground domain.
func (c *Config) PlaygroundHost() string {
	if !c.Playground.IsPlayground() || c.Edge.Playgrounds.Domain == "" {
		return ""
	}
	return c.Playground.Name().Host(c.Edge.Playgrounds.Domain)
}

// SourceOf is the repository folder of a service's code.
func (p *Playground) SourceOf(service string) string {
	if dir, ok := p.Sources[service]; ok {
		return dir
	}
	return "services/" + service
}

// KeysByService maps each dev-mode service to the developers' keys its sidecar accepts.
func (d *DevMode) KeysByService() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, s := range d.Services {
		keys := map[string]string{}
		for dev, key := range d.AuthorizedKeys {
			if len(s.Developers) == 0 || slices.Contains(s.Developers, dev) {
				keys[dev] = key
			}
		}
		out[s.Name] = keys
	}
	return out
}

// Enabled says whether a service runs in dev mode, and its settings.
func (d *DevMode) Enabled(service string) (DevModeService, bool) {
	for _, s := range d.Services {
		if s.Name == service {
			return s, true
		}
	}
	return DevModeService{}, false
}

var (
	// userRe is a portable Linux login name (useradd's rule, at most 32 characters); no Go library
	// defines it.
	userRe      = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	pullPolices = []string{"", "Always", "IfNotPresent", "Never"}
)

// ParseAge reads an age as playground.maxAge accepts it: whole days ("7d"), a Go duration ("36h")
// or "0" for no limit.
func ParseAge(s string) (time.Duration, error) { return parseAge(s) }

func parseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16) // no sign; 65535 days is far beyond any age
		if err != nil {
			return 0, err
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative")
	}
	return d, err
}

func (c *DevConfig) checkAndFillDefaults(cfg *Config) []FieldError {
	var errs []FieldError
	services := map[string]bool{}
	for _, s := range cfg.Services {
		services[s.Name] = true
	}
	errs = append(errs, c.Playground.check(cfg, services)...)
	errs = append(errs, c.DevMode.checkAndFillDefaults(services)...)
	errs = append(errs, c.LocalDev.check(services)...)
	// Host-path volumes are refused by the "restricted" and "baseline" Pod Security levels.
	if len(c.LocalDev.CodeMounts) > 0 && cfg.PodSecurity.Enforce != PodSecurityPrivileged {
		errs = append(errs, fieldErr(Namespace+":localDev.codeMounts", c.LocalDev.CodeMounts[0].Service,
			"mounts a host folder, which the namespace's "+cfg.PodSecurity.Enforce+" Pod Security level refuses",
			"set shoestring:podSecurity.enforce to \"privileged\" in this (local dev) stack, or remove localDev.codeMounts"))
	}
	return errs
}

func (p *Playground) check(cfg *Config, services map[string]bool) []FieldError {
	const k = Namespace + ":playground"
	var errs []FieldError
	if _, err := parseAge(p.MaxAge); err != nil {
		errs = append(errs, fieldErr(k+".maxAge", p.MaxAge, "is not an age", "write whole days (\"7d\"), a duration (\"36h\") or \"0\" for no limit"))
	}
	for _, svc := range slices.Sorted(maps.Keys(p.Sources)) {
		dir := p.Sources[svc]
		if dir == "" || path.IsAbs(dir) || strings.HasPrefix(path.Clean(dir), "..") {
			errs = append(errs, fieldErr(k+".sources."+svc, dir, "is not a folder inside the repository", "give a relative path such as \"services/"+svc+"\""))
		}
	}
	if !p.IsPlayground() {
		if p.BaseNamespace != "" || p.Created != "" {
			errs = append(errs, fieldErr(k+".baseNamespace", p.BaseNamespace, "is only meaningful in a playground stack (with playground.branch)",
				"remove it; `shoestring playground up` sets branch, baseNamespace and created in the playground stacks it makes"))
		}
		return errs
	}
	n, err := PlaygroundForBranch(p.Branch)
	if err != nil {
		return append(errs, fieldErr(k+".branch", p.Branch, "is not a playground branch", err.Error()))
	}
	if cfg.Namespace != n.Namespace {
		errs = append(errs, fieldErr(Namespace+":namespace", cfg.Namespace, "is not the namespace of playground branch "+p.Branch,
			fmt.Sprintf("set it to %q (shoestring playground up does)", n.Namespace)))
	}
	switch {
	case p.BaseNamespace == "":
		errs = append(errs, fieldErr(k+".baseNamespace", nil, "is required in a playground stack",
			"name the namespace of the base stack's services, e.g. \"default\""))
	case !isDNSLabel(p.BaseNamespace):
		errs = append(errs, fieldErr(k+".baseNamespace", p.BaseNamespace, "is not a namespace name", "use a DNS-1123 label such as \"default\""))
	case p.BaseNamespace == n.Namespace:
		errs = append(errs, fieldErr(k+".baseNamespace", p.BaseNamespace, "is the playground's own namespace",
			"name the base stack's namespace, where the services the playground does not deploy run"))
	}
	if p.Created != "" {
		if _, err := time.Parse(time.RFC3339, p.Created); err != nil {
			errs = append(errs, fieldErr(k+".created", p.Created, "is not an RFC 3339 time", "write e.g. \"2026-11-23T12:00:00Z\""))
		}
	}
	if gws := cfg.Edge.Playgrounds.GatewayServices; len(gws) > 0 {
		for j, gw := range gws {
			if !services[gw] {
				errs = append(errs, fieldErr(fmt.Sprintf("%s:edge.playgrounds.gatewayServices[%d]", Namespace, j), gw, "is not among the playground's services",
					"every playground deploys each gateway: add it to shoestring:services or name the right service"))
			}
		}
	} else if gw := cfg.Edge.Playgrounds.GatewayService; !services[gw] {
		errs = append(errs, fieldErr(Namespace+":edge.playgrounds.gatewayService", gw, "is not among the playground's services",
			"every playground deploys the gateway <feature>.<domain> reaches: add it to shoestring:services or name the right service"))
	}
	return errs
}

func (d *DevMode) checkAndFillDefaults(services map[string]bool) []FieldError {
	const k = Namespace + ":devMode"
	var errs []FieldError
	if len(d.Services) > 0 && !d.Allowed {
		names := make([]string, len(d.Services))
		for i, s := range d.Services {
			names[i] = s.Name
		}
		errs = append(errs, fieldErr(k+".services", strings.Join(names, ","), "dev mode is forbidden in this stack (devMode.allowed is false)",
			"remove devMode.services from this stack; dev mode runs only where the stack file sets devMode.allowed: true (dev, sandbox, playgrounds)"))
	}
	seen := map[string]bool{}
	for i, s := range d.Services {
		key := fmt.Sprintf("%s.services[%d]", k, i)
		switch {
		case !services[s.Name]:
			errs = append(errs, fieldErr(key+".name", s.Name, "is not a service of this stack", "name one of shoestring:services"))
		case seen[s.Name]:
			errs = append(errs, fieldErr(key+".name", s.Name, "is listed twice", "list each service once"))
		}
		seen[s.Name] = true
		for j, dev := range s.Developers {
			if _, ok := d.AuthorizedKeys[dev]; !ok {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.developers[%d]", key, j), dev, "has no key under devMode.authorizedKeys",
					"name one of: "+strings.Join(slices.Sorted(maps.Keys(d.AuthorizedKeys)), ", ")+"; or add the developer's key there"))
			}
		}
		if s.CodePath == "" {
			d.Services[i].CodePath = DefaultDevCodePath
		} else if !path.IsAbs(s.CodePath) || path.Clean(s.CodePath) == "/" {
			errs = append(errs, fieldErr(key+".codePath", s.CodePath, "is not an absolute folder below /", "give the folder of the code in the image, e.g. \"/app\""))
		}
	}
	if len(d.Services) > 0 && len(d.AuthorizedKeys) == 0 && d.Allowed {
		errs = append(errs, fieldErr(k+".authorizedKeys", nil, "is empty: nobody could log in to the dev-mode sidecars",
			"add developer: public key pairs, e.g. alice: \"ssh-ed25519 AAAA... alice@laptop\""))
	}
	for _, dev := range slices.Sorted(maps.Keys(d.AuthorizedKeys)) {
		key, kk := d.AuthorizedKeys[dev], k+".authorizedKeys."+dev
		if !isSecretKey(dev + ".pub") {
			errs = append(errs, fieldErr(kk, dev, "is not a developer name", "use letters, digits, '.', '_' and '-' (it names the file <name>.pub)"))
		}
		if strings.Contains(key, "PRIVATE KEY") {
			errs = append(errs, FieldError{Key: kk, Problem: "is a private key (value withheld)",
				Fix: "give the public key (the .pub file), and replace the private key: it is now in the stack file's history"})
		} else if problem := sshPublicKeyProblem(key); problem != "" {
			errs = append(errs, fieldErr(kk, key, problem,
				"paste the one line of a .pub file: an ed25519, RSA or ECDSA key, e.g. \"ssh-ed25519 AAAA... alice@laptop\""))
		}
	}
	if d.SidecarImage == "" {
		errs = append(errs, fieldErr(k+".sidecarImage", nil, "is required", fmt.Sprintf("use %q or an image with the same contract", DefaultDevSidecarImage)))
	} else {
		errs = append(errs, checkImage(k+".sidecarImage", d.SidecarImage)...)
	}
	if !userRe.MatchString(d.User) {
		errs = append(errs, fieldErr(k+".user", d.User, "is not a login name", "use lowercase letters, digits, '_' and '-', e.g. \"dev\""))
	}
	if d.UID < 0 || d.GID < 0 {
		errs = append(errs, fieldErr(k+".uid", fmt.Sprintf("%d:%d", d.UID, d.GID), "is negative", "use the app's user id, e.g. 1000"))
	}
	if d.LocalPortBase < 1024 || d.LocalPortBase+len(d.Services) > 65535 {
		errs = append(errs, fieldErr(k+".localPortBase", d.LocalPortBase, "is out of range", "use an unprivileged port such as 2222"))
	}
	return errs
}

func (l *LocalDev) check(services map[string]bool) []FieldError {
	const k = Namespace + ":localDev"
	var errs []FieldError
	if !slices.Contains(pullPolices, l.ImagePullPolicy) {
		errs = append(errs, fieldErr(k+".imagePullPolicy", l.ImagePullPolicy, "is not an image pull policy", oneOf(pullPolices[1:]...)+", or leave it out"))
	}
	for i, set := range l.SameSecrets {
		for j, ref := range set {
			group, name, ok := strings.Cut(ref, ".")
			if !ok || group == "" || name == "" || strings.Contains(name, ".") {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.sameSecrets[%d][%d]", k, i, j), ref, "is not a secret reference", "write <group>.<NAME> as under shoestring:secrets, e.g. \"api.DB_PASSWORD\""))
			}
		}
		if len(set) < 2 {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.sameSecrets[%d]", k, i), set, "names fewer than two secrets", "list two or more secrets that must hold the same value"))
		}
	}
	for i, m := range l.CodeMounts {
		key := fmt.Sprintf("%s.codeMounts[%d]", k, i)
		if !services[m.Service] {
			errs = append(errs, fieldErr(key+".service", m.Service, "is not a service of this stack", "name one of shoestring:services"))
		}
		if !path.IsAbs(m.HostPath) {
			errs = append(errs, fieldErr(key+".hostPath", m.HostPath, "is not an absolute path on the node",
				"give an absolute folder, e.g. \"/hosthome/alice/src/users\" (minikube mounts the home folder there)"))
		}
		if !path.IsAbs(m.Path) || path.Clean(m.Path) == "/" {
			errs = append(errs, fieldErr(key+".path", m.Path, "is not an absolute folder below /", "give the container folder the code belongs in, e.g. \"/app\""))
		}
	}
	return errs
}
