package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/internal/cost"
	"github.com/shoestring-dev/shoestring/internal/dnssync/grammar"
	"github.com/shoestring-dev/shoestring/stacks"
)

// Namespace is the config namespace: the project name in bootstrap/Pulumi.yaml, which is where
// `pulumi config set <key> <value>` puts a key.
const Namespace = "shoestring-bootstrap"

// Config is everything the bootstrap stack needs to be told.
type Config struct {
	// Project is the GCP project id (not its name or number).
	Project string
	// Repository is the GitHub repository, owner/name, whose workflows may use the CI account.
	Repository string
	// RepositoryID is that repository's numeric id (`gh api repos/<owner>/<name> --jq .id`): the
	// tokens' repository_id claim, which a repository deleted and re-created under the same name
	// (or a renamed one's successor) does not share.
	RepositoryID string
	// CloudflareZone is the Cloudflare zone the stacks' names live in (shoestring:dns.zone).
	CloudflareZone string
	// CloudflareZoneID is that zone's id (shoestring:dns.zoneId), from its overview page.
	CloudflareZoneID string
	// Zone is the GCP zone the stacks' clusters run in; its region holds the bucket, key and registry.
	Zone string
	// Name prefixes what this stack names (key ring, registry, service account, pool).
	Name string
	// SandboxCluster is the sandbox stack's cluster name (shoestring:cluster.gke.name), which the
	// playground workflows fetch credentials for.
	SandboxCluster string
}

// Region is the zone's region: where the bucket, the key ring and the registry live.
func (c *Config) Region() string { return cost.RegionOf(c.Zone) }

// keys are the accepted keys with their defaults ("" = required).
var keys = map[string]string{
	"project":          "",
	"repository":       "",
	"repositoryId":     "",
	"cloudflareZone":   "",
	"cloudflareZoneId": "",
	"zone":             "",
	"name":             "shoestring",
	"sandboxCluster":   "shoestring-sandbox",
}

// load reads the stack's configuration from the engine. The key list comes from PULUMI_CONFIG (as
// the main program's stacks.Load does) so that misspelt keys are refused, not ignored.
func load(ctx *pulumi.Context) (*Config, error) {
	var all map[string]string
	if env := os.Getenv("PULUMI_CONFIG"); env != "" {
		if err := json.Unmarshal([]byte(env), &all); err != nil {
			return nil, fmt.Errorf("reading PULUMI_CONFIG: %w", err)
		}
	}
	raw := map[string]string{}
	for k := range all {
		if v, ok := ctx.GetConfig(k); ok {
			raw[k] = v
		}
	}
	return parse(raw)
}

// parse builds and checks a Config from full keys ("shoestring-bootstrap:project") to values.
// Keys of other namespaces (gcp:...) belong to providers and are ignored. Every problem is reported.
func parse(raw map[string]string) (*Config, error) {
	v := map[string]string{}
	for k, d := range keys {
		v[k] = d
	}
	var errs stacks.Errors
	var accepted []string
	for k := range keys {
		accepted = append(accepted, Namespace+":"+k)
	}
	sort.Strings(accepted)
	for full, val := range raw {
		ns, key, ok := strings.Cut(full, ":")
		if !ok || ns != Namespace {
			continue
		}
		if _, known := keys[key]; !known {
			errs = append(errs, stacks.FieldError{Key: full, Problem: "is not a bootstrap setting",
				Fix: "use one of " + strings.Join(accepted, ", ")})
			continue
		}
		v[key] = strings.TrimSpace(val)
	}
	c := &Config{Project: v["project"], Repository: v["repository"], RepositoryID: v["repositoryId"], CloudflareZone: v["cloudflareZone"],
		CloudflareZoneID: v["cloudflareZoneId"],
		Zone:             v["zone"], Name: v["name"], SandboxCluster: v["sandboxCluster"]}
	errs = append(errs, c.check()...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Key < errs[j].Key })
		return nil, errs
	}
	return c, nil
}

var (
	projectIDRe = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	digitsRe    = regexp.MustCompile(`^[0-9]+$`)
	ghOwnerRe   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`)
	ghRepoRe    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	ghURLRe     = regexp.MustCompile(`^(?:https?://|git@|ssh://git@)?(?:www\.)?github\.com[/:]([^/]+)/([^/]+?)(?:\.git)?/?$`)
	prefixRe    = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$`)
)

func field(key, value, problem, fix string) stacks.FieldError {
	return stacks.FieldError{Key: Namespace + ":" + key, Value: value, Problem: problem, Fix: fix}
}

func required(key, example string) stacks.FieldError {
	return field(key, "", "is required", fmt.Sprintf("set it with `pulumi config set %s %s`", key, example))
}

// Warnings are what is worth a word but blocks nothing: a zone whose region the price table does
// not cover deploys the same, only `make cost` and the stacks' monthlyCost cannot price it.
func (c *Config) Warnings() []stacks.FieldError {
	if c.Zone == "" || !stacks.IsGCPZone(c.Zone) {
		return nil
	}
	if _, err := cost.ForZone(c.Zone); err == nil {
		return nil
	}
	regions := cost.Regions()
	return []stacks.FieldError{field("zone", c.Zone,
		fmt.Sprintf("is in region %s, which the price table does not cover: everything deploys, but `make cost` and the stacks' monthlyCost cannot price it", cost.RegionOf(c.Zone)),
		fmt.Sprintf("to get estimates, add the region's E2 and persistent-disk prices to internal/cost/prices.json (covered now: %s; see docs/gcp.md \"Cost\")", strings.Join(regions, ", ")))}
}

func (c *Config) check() []stacks.FieldError {
	var errs []stacks.FieldError
	const projectFix = "give the project ID (6-30 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, e.g. \"acme-shoestring\"); `gcloud projects list` shows it in the PROJECT_ID column"
	switch p := c.Project; {
	case p == "":
		errs = append(errs, required("project", "<project id>"))
	case digitsRe.MatchString(p):
		errs = append(errs, field("project", p, "is a project number, not a project ID", projectFix))
	case !projectIDRe.MatchString(p):
		errs = append(errs, field("project", p, "is not a valid GCP project ID", projectFix))
	case strings.Contains(p, "google"):
		errs = append(errs, field("project", p, "is not a valid GCP project ID: it may not contain \"google\"", projectFix))
	}

	const repoFix = "write the GitHub repository as owner/name, e.g. \"acme/shop\""
	r := c.Repository
	if r == "" {
		errs = append(errs, required("repository", "<owner>/<name>"))
	} else if m := ghURLRe.FindStringSubmatch(r); m != nil {
		errs = append(errs, field("repository", r, "is a URL, not owner/name",
			fmt.Sprintf("write %q (the workload identity provider compares it with the token's repository claim)", m[1]+"/"+m[2])))
	} else if owner, name, ok := strings.Cut(r, "/"); !ok || strings.Contains(name, "/") {
		errs = append(errs, field("repository", r, "is not owner/name", repoFix))
	} else if !ghOwnerRe.MatchString(owner) || strings.Contains(owner, "--") {
		errs = append(errs, field("repository", r, fmt.Sprintf("has an invalid owner %q (GitHub: 1-39 letters, digits and single hyphens, not at either end)", owner), repoFix))
	} else if !ghRepoRe.MatchString(name) || name == "." || name == ".." || strings.HasSuffix(name, ".git") {
		errs = append(errs, field("repository", r, fmt.Sprintf("has an invalid name %q (GitHub: 1-100 letters, digits, '.', '-', '_'; no .git suffix)", name), repoFix))
	}

	switch id := c.RepositoryID; {
	case id == "":
		errs = append(errs, required("repositoryId", "\"$(gh api repos/<owner>/<name> --jq .id)\""))
	case !digitsRe.MatchString(id):
		errs = append(errs, field("repositoryId", id, "is not a GitHub repository id",
			"give the repository's numeric id: `gh api repos/<owner>/<name> --jq .id`"))
	}

	const zoneFix = "give the Cloudflare zone's domain name, e.g. \"example.com\" (lowercase, no scheme, no trailing dot)"
	switch z := c.CloudflareZone; {
	case z == "":
		errs = append(errs, required("cloudflareZone", "<domain, e.g. example.com>"))
	case !grammar.IsDomainName(z):
		errs = append(errs, field("cloudflareZone", z, "is not a domain name", zoneFix))
	}

	const zoneIDFix = "copy the zone's id (32 hex digits) from the Overview page of the zone in the Cloudflare dashboard, under API"
	switch id := c.CloudflareZoneID; {
	case id == "":
		errs = append(errs, required("cloudflareZoneId", "<the zone's id, 32 hex digits>"))
	case id == stacks.ExampleZoneID:
		errs = append(errs, field("cloudflareZoneId", id, "is the example zone id of Cloudflare's documentation, not your zone's", zoneIDFix))
	case !grammar.IsZoneID(id):
		errs = append(errs, field("cloudflareZoneId", id, "is not a Cloudflare zone id", zoneIDFix))
	}

	const gcpZoneFix = "name a GCP zone, e.g. \"us-central1-a\" or \"europe-west1-b\" (`gcloud compute zones list`)"
	switch z := c.Zone; {
	case z == "":
		errs = append(errs, required("zone", "us-central1-a"))
	case stacks.IsGCPRegion(z):
		errs = append(errs, field("zone", z, "is a region: the stacks' clusters are zonal (one zonal cluster's fee is covered by the free tier)",
			fmt.Sprintf("name one zone of it, e.g. %q", z+"-a")))
	case !stacks.IsGCPZone(z):
		errs = append(errs, field("zone", z, "is not a GCP zone", gcpZoneFix))
	}

	if !prefixRe.MatchString(c.Name) {
		errs = append(errs, field("name", c.Name, "is not a valid name prefix",
			"use 1-20 lowercase letters, digits and hyphens, starting with a letter (\"shoestring\" is the default)"))
	}
	if !stacks.IsGKEClusterName(c.SandboxCluster) {
		errs = append(errs, field("sandboxCluster", c.SandboxCluster, "is not a valid GKE cluster name",
			"give the sandbox stack's shoestring:cluster.gke.name (1-40 lowercase letters, digits and hyphens, starting with a letter)"))
	}
	return errs
}
