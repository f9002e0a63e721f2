package stacks

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Checks that look at the whole configuration rather than one section: keys outside the
// namespace that were meant for it, a stack that deploys workloads without services, secret
// groups nothing reads; and the warnings about secret-looking names under plain env.

// looksLikeNamespace says whether a config namespace is a typo of Namespace: the same letters in
// another case, or at most two edits away ("shoestrng", "shoestring_"). Other namespaces (gcp,
// kubernetes, cloudflare, pulumi) are providers' and stay untouched.
func looksLikeNamespace(ns string) bool {
	return ns != Namespace && (strings.EqualFold(ns, Namespace) || editDistance(strings.ToLower(ns), Namespace) <= 2)
}

const namespaceTypoProblem = "is not in the " + Namespace + " namespace, so the program would never read it"

func namespaceTypo(full, key string, accepted []string) FieldError {
	meant := Namespace + ":" + key
	if best := closest(meant, accepted); best != "" {
		meant = best
	}
	return FieldError{Key: full, Problem: namespaceTypoProblem,
		Fix: fmt.Sprintf("did you mean %q? rename the key", meant), meant: meant}
}

func (c *Config) checkAcrossSections(raw map[string]string) []FieldError {
	var errs []FieldError
	errs = append(errs, c.checkServicesDeclared(raw)...)
	errs = append(errs, c.checkSecretGroups()...)
	errs = append(errs, c.checkChecksumKey()...)
	return errs
}

// checkServicesDeclared refuses a stack that sets up what services use (backing services, the
// common ConfigMap, edge routes, playgrounds) but declares no service: most likely the services
// were lost to a typo (of the key or its namespace) or an override. A stack that only makes the
// cluster, the edge and DNS stays valid.
func (c *Config) checkServicesDeclared(raw map[string]string) []FieldError {
	if len(c.Services) > 0 {
		return nil
	}
	var uses []string
	if len(c.Backing) > 0 {
		uses = append(uses, Namespace+":backing")
	}
	if len(c.CommonEnv) > 0 {
		uses = append(uses, Namespace+":commonEnv")
	}
	if len(c.Edge.Routes) > 0 {
		uses = append(uses, Namespace+":edge.routes")
	}
	if c.Edge.Playgrounds.Domain != "" {
		uses = append(uses, Namespace+":edge.playgrounds.domain")
	}
	if len(uses) == 0 {
		return nil
	}
	const key = Namespace + ":services"
	problem := "is missing"
	value := ""
	if v, given := raw[key]; given {
		problem, value = "is empty", v
	}
	return []FieldError{{Key: key, Value: value,
		Problem: problem + ", but the stack deploys workloads: " + strings.Join(uses, ", ") + " set up what services use",
		Fix:     "declare the services, e.g. `- {name: api, image: ghcr.io/acme/api:1.4.2}`, or remove " + strings.Join(uses, ", ") + " for a stack without services"}}
}

// SecretGroups are the groups under shoestring:secrets something reads: each service and backing
// service, the edge, the DNS-sync controller, the common and registry Secrets when set, and the
// checksum key when a pod reads a Secret.
func (c *Config) SecretGroups() []string {
	groups := map[string]bool{EdgeSecretGroup: true, DNSSyncSecretGroup: true}
	for _, s := range c.Services {
		groups[s.Name] = true
	}
	for _, b := range c.Backing {
		groups[b.Name] = true
	}
	if len(c.CommonSecretEnv) > 0 {
		groups[CommonSecretGroup] = true
	}
	if c.Registry.IsSet() {
		groups[RegistrySecretGroup] = true
	}
	if c.podsReadSecrets() {
		groups[ChecksumSecretGroup] = true
	}
	return slices.Sorted(maps.Keys(groups))
}

// checkSecretGroups refuses a group under shoestring:secrets that nothing reads (a typo of a
// service's name, or a service renamed): its values would never reach a pod. Playground stacks
// keep the base stack's secrets for services they do not deploy, so they are not checked.
func (c *Config) checkSecretGroups() []FieldError {
	if c.Playground.IsPlayground() {
		return nil
	}
	groups := c.SecretGroups()
	var errs []FieldError
	for _, g := range slices.Sorted(maps.Keys(c.Secrets)) {
		if slices.Contains(groups, g) {
			continue
		}
		fix := "the groups that exist: " + quoteAll(groups)
		if best := closest(g, groups); best != "" {
			fix = fmt.Sprintf("did you mean %q? %s", best, fix)
		}
		errs = append(errs, FieldError{Key: Namespace + ":secrets." + g,
			Problem: "matches no service, backing service or other section's group, so no pod would receive its values",
			Fix:     fix})
	}
	return errs
}

// secretWords are the words (between '_', '-' and '.') of a variable name that mark a secret;
// matching whole words keeps KEYBOARD_LAYOUT or TOKENIZER_MODEL out.
var secretWords = []string{"PASSWORD", "PASSWD", "TOKEN", "SECRET", "KEY"}

// notSecretEnds are last words that make a secret-looking name a reference to one, not a value:
// DB_PASSWORD_FILE, SSH_KEY_PATH, SECRET_NAME, AWS_ACCESS_KEY_ID.
var notSecretEnds = []string{"FILE", "PATH", "DIR", "URL", "NAME", "ID"}

// secretWord returns the secret word in a variable name, or "".
func secretWord(name string) string {
	words := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	if len(words) == 0 || slices.Contains(notSecretEnds, words[len(words)-1]) {
		return ""
	}
	for _, w := range words {
		if slices.Contains(secretWords, w) {
			return w
		}
	}
	return ""
}

// secretLookingEnv warns of plain env variables whose name says they hold a secret: plain env is
// stored in clear, in the stack file and in a ConfigMap. A warning, not an error: the name may lie.
func (c *Config) secretLookingEnv() []FieldError {
	var out []FieldError
	warn := func(key, name, fix string) {
		out = append(out, FieldError{Key: key,
			Problem: fmt.Sprintf("looks like a secret (%s) but is plain env, stored in clear in the stack file and a ConfigMap", secretWord(name)),
			Fix:     fix})
	}
	set := func(group, name string) string {
		return fmt.Sprintf("set it with `pulumi config set --secret --path 'secrets.%s.%s' <value>`", group, name)
	}
	for _, n := range slices.Sorted(maps.Keys(c.CommonEnv)) {
		if secretWord(n) == "" {
			continue
		}
		fix := "move it to the secretEnv of each service that needs it"
		if len(c.Services) > 0 {
			fix += fmt.Sprintf(", e.g. %s:services[0].secretEnv, and %s", Namespace, set(c.Services[0].Name, n))
		}
		warn(Namespace+":commonEnv."+n, n, fix)
	}
	for i, b := range c.Backing {
		for _, n := range slices.Sorted(maps.Keys(b.Env)) {
			if secretWord(n) != "" {
				warn(fmt.Sprintf("%s:backing[%d].env.%s", Namespace, i, n), n,
					fmt.Sprintf("move it to %s:backing[%d].secretEnv and %s", Namespace, i, set(b.Name, n)))
			}
		}
	}
	for i, s := range c.Services {
		for _, n := range slices.Sorted(maps.Keys(s.Env)) {
			if secretWord(n) != "" {
				warn(fmt.Sprintf("%s:services[%d].env.%s", Namespace, i, n), n,
					fmt.Sprintf("move it to %s:services[%d].secretEnv and %s", Namespace, i, set(s.Name, n)))
			}
		}
	}
	return Errors(out).sorted()
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
