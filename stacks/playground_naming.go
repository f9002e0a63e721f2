package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Playground naming: how a branch becomes a playground's namespace, stack and host name, and the
// record a playground stack keeps of itself. The schema checks playground stacks against these rules
// and the edge routes by them, so they live here; the playground tooling (internal/playground) uses
// them from here.

// PlaygroundBranchPrefix is the branch convention: a playground exists for every branch named
// play/<feature>.
const PlaygroundBranchPrefix = "play/"

// PlaygroundNamePrefix starts every playground's stack and namespace name. The reaper only ever
// considers stacks with this prefix, and the edge routes <feature>.<domain> to namespace
// PlaygroundNamePrefix+<feature>.
const PlaygroundNamePrefix = "play-"

// playgroundHashLen is how many hex digits of the branch's SHA-256 end a shortened name: 8 digits
// keep accidental collisions between long branch names below one in four billion.
const playgroundHashLen = 8

// PlaygroundMaxFeatureLen is the longest feature label kept whole: the namespace
// PlaygroundNamePrefix+feature must stay a DNS-1123 label.
const PlaygroundMaxFeatureLen = validation.DNS1123LabelMaxLength - len(PlaygroundNamePrefix)

// PlaygroundName is everything a playground is called, derived from its branch.
type PlaygroundName struct {
	Branch    string // the git branch, e.g. "play/Login_Form"
	Feature   string // a DNS-1123 label, e.g. "login-form"; the host is Feature + "." + domain
	Namespace string // PlaygroundNamePrefix + Feature, e.g. "play-login-form"
	Stack     string // the Pulumi stack, the same string as Namespace
}

// Host is the playground's public host name under domain.
func (n PlaygroundName) Host(domain string) string { return n.Feature + "." + domain }

// notLabelChars are the runs of characters a branch name's feature part loses (each becomes one
// hyphen): a rewriting rule of this package, not a grammar any library defines.
var notLabelChars = regexp.MustCompile(`[^a-z0-9]+`)

// PlaygroundForBranch derives a playground's names from its branch. The feature part is lowercased,
// every run of characters other than a-z and 0-9 becomes one hyphen, and hyphens at either end are
// dropped. A feature longer than PlaygroundMaxFeatureLen is cut and ends in "-" and 8 hex digits of
// the SHA-256 of the whole branch name, so two long branches that share a prefix still get
// different names.
func PlaygroundForBranch(branch string) (PlaygroundName, error) {
	feature, ok := strings.CutPrefix(branch, PlaygroundBranchPrefix)
	if !ok {
		return PlaygroundName{}, fmt.Errorf("branch %q is not a playground branch: playgrounds are made for branches named %s<feature>, e.g. %sadd-login",
			branch, PlaygroundBranchPrefix, PlaygroundBranchPrefix)
	}
	label := strings.Trim(notLabelChars.ReplaceAllString(strings.ToLower(feature), "-"), "-")
	if label == "" {
		return PlaygroundName{}, fmt.Errorf("branch %q has no usable feature name: after %s it needs at least one letter or digit, e.g. %sadd-login",
			branch, PlaygroundBranchPrefix, PlaygroundBranchPrefix)
	}
	if len(label) > PlaygroundMaxFeatureLen {
		sum := sha256.Sum256([]byte(branch))
		keep := strings.TrimRight(label[:PlaygroundMaxFeatureLen-1-playgroundHashLen], "-")
		label = keep + "-" + hex.EncodeToString(sum[:])[:playgroundHashLen]
	}
	return PlaygroundName{Branch: branch, Feature: label, Namespace: PlaygroundNamePrefix + label, Stack: PlaygroundNamePrefix + label}, nil
}

// PlaygroundNamespace is the namespace of a playground's feature label; the edge routes
// <feature>.<domain> to the gateway service there.
func PlaygroundNamespace(feature string) string { return PlaygroundNamePrefix + feature }

// PlaygroundFeatureOfNamespace is the inverse the edge needs: the feature label of a playground
// namespace, and false for a namespace that is not a playground's.
func PlaygroundFeatureOfNamespace(ns string) (string, bool) {
	f, ok := strings.CutPrefix(ns, PlaygroundNamePrefix)
	return f, ok && f != "" && isDNSLabel(ns)
}

// IsPlaygroundStack says whether a stack name is in the playgrounds' name space. Only such stacks
// are ever listed, reported or removed by the playground commands.
func IsPlaygroundStack(stack string) bool {
	_, ok := PlaygroundFeatureOfNamespace(stack)
	return ok
}

// PlaygroundSearchDomains is the extra pod DNS search path of a playground's pods: the base
// namespace's services, so they reach what the playground does not deploy under the same short
// names.
func PlaygroundSearchDomains(baseNamespace, clusterDomain string) []string {
	return []string{baseNamespace + ".svc." + clusterDomain}
}

// PlaygroundOutputKey is the stack output in which a playground stack records what it is. Outputs
// live in the backend's state, so `list` and `reap` on a fresh CI runner (without the playground's
// stack file) still know each playground's branch and age.
const PlaygroundOutputKey = "playground"

// PlaygroundRecord is what a playground stack records about itself.
type PlaygroundRecord struct {
	Branch    string
	Namespace string
	Host      string // "" without a playground domain
	Created   time.Time
}

// Map is the record as the stack output's value.
func (r PlaygroundRecord) Map() map[string]string {
	return map[string]string{"branch": r.Branch, "namespace": r.Namespace, "host": r.Host, "created": r.Created.UTC().Format(time.RFC3339)}
}

// Export records the playground stack's identity as its PlaygroundOutputKey output; the program
// calls it in playground stacks, and `shoestring playground list` and `reap` read it back.
func (r PlaygroundRecord) Export(ctx *pulumi.Context) {
	m := pulumi.StringMap{}
	for k, v := range r.Map() {
		m[k] = pulumi.String(v)
	}
	ctx.Export(PlaygroundOutputKey, m)
}

// ParsePlaygroundRecord reads the record back from a stack output value (a map of strings).
func ParsePlaygroundRecord(v any) (PlaygroundRecord, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return PlaygroundRecord{}, fmt.Errorf("output %q is not a mapping", PlaygroundOutputKey)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	r := PlaygroundRecord{Branch: str("branch"), Namespace: str("namespace"), Host: str("host")}
	if c := str("created"); c != "" {
		t, err := time.Parse(time.RFC3339, c)
		if err != nil {
			return PlaygroundRecord{}, fmt.Errorf("output %s.created: %w", PlaygroundOutputKey, err)
		}
		r.Created = t
	}
	return r, nil
}
