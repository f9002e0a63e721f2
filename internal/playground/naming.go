// Package playground is the pure part of per-branch playgrounds: how a branch name
// becomes a namespace, stack and host name, which services a playground deploys, which playgrounds
// the reaper removes and what each one costs. The CLI (cmd/shoestring playground) and the Pulumi
// program call it; nothing here talks to Pulumi or Kubernetes.
package playground

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The branch convention: a playground exists for every branch named play/<feature>.
const BranchPrefix = "play/"

// NamePrefix starts every playground's stack and namespace name. The reaper only ever considers
// stacks with this prefix, and the edge routes <feature>.<domain> to namespace NamePrefix+<feature>.
const NamePrefix = "play-"

// maxLabel is the DNS-1123 label limit that namespace names (and host name labels) must respect.
const maxLabel = validation.DNS1123LabelMaxLength

// hashLen is how many hex digits of the branch's SHA-256 end a shortened name: 8 digits keep
// accidental collisions between long branch names below one in four billion.
const hashLen = 8

// MaxFeatureLen is the longest feature label kept whole: the namespace NamePrefix+feature must stay
// a DNS-1123 label.
const MaxFeatureLen = maxLabel - len(NamePrefix)

// Name is everything a playground is called, derived from its branch.
type Name struct {
	Branch    string // the git branch, e.g. "play/Login_Form"
	Feature   string // a DNS-1123 label, e.g. "login-form"; the host is Feature + "." + domain
	Namespace string // NamePrefix + Feature, e.g. "play-login-form"
	Stack     string // the Pulumi stack, the same string as Namespace
}

// Host is the playground's public host name under domain.
func (n Name) Host(domain string) string { return n.Feature + "." + domain }

// notLabelChars are the runs of characters a branch name's feature part loses (each becomes one
// hyphen): a rewriting rule of this package, not a grammar any library defines.
var notLabelChars = regexp.MustCompile(`[^a-z0-9]+`)

// IsDNSLabel says whether s is a DNS-1123 label (a valid namespace name).
func IsDNSLabel(s string) bool { return len(validation.IsDNS1123Label(s)) == 0 }

// ForBranch derives a playground's names from its branch. The feature part is lowercased, every run
// of characters other than a-z and 0-9 becomes one hyphen, and hyphens at either end are dropped.
// A feature longer than MaxFeatureLen is cut and ends in "-" and 8 hex digits of the SHA-256 of the
// whole branch name, so two long branches that share a prefix still get different names.
func ForBranch(branch string) (Name, error) {
	feature, ok := strings.CutPrefix(branch, BranchPrefix)
	if !ok {
		return Name{}, fmt.Errorf("branch %q is not a playground branch: playgrounds are made for branches named %s<feature>, e.g. %sadd-login",
			branch, BranchPrefix, BranchPrefix)
	}
	label := strings.Trim(notLabelChars.ReplaceAllString(strings.ToLower(feature), "-"), "-")
	if label == "" {
		return Name{}, fmt.Errorf("branch %q has no usable feature name: after %s it needs at least one letter or digit, e.g. %sadd-login",
			branch, BranchPrefix, BranchPrefix)
	}
	if len(label) > MaxFeatureLen {
		sum := sha256.Sum256([]byte(branch))
		keep := strings.TrimRight(label[:MaxFeatureLen-1-hashLen], "-")
		label = keep + "-" + hex.EncodeToString(sum[:])[:hashLen]
	}
	return Name{Branch: branch, Feature: label, Namespace: NamePrefix + label, Stack: NamePrefix + label}, nil
}

// FeatureOfNamespace is the inverse the edge needs: the feature label of a playground namespace,
// and false for a namespace that is not a playground's.
func FeatureOfNamespace(ns string) (string, bool) {
	f, ok := strings.CutPrefix(ns, NamePrefix)
	return f, ok && f != "" && IsDNSLabel(ns)
}

// IsPlaygroundStack says whether a stack name is in the playgrounds' name space. Only such stacks
// are ever listed, reported or removed by the playground commands.
func IsPlaygroundStack(stack string) bool {
	_, ok := FeatureOfNamespace(stack)
	return ok
}

// CheckCollision refuses to create a playground for branch when a playground of another branch
// already has the same names (e.g. play/Login_Form and play/login-form). existing maps each
// playground stack to the branch it was made for.
func CheckCollision(n Name, existing map[string]string) error {
	other, taken := existing[n.Stack]
	if !taken || other == n.Branch {
		return nil
	}
	return fmt.Errorf("branch %q maps to playground %q, which already belongs to branch %q: rename one of the branches (names are lowercased and every run of other characters becomes \"-\"), or remove the other playground with `shoestring playground down --branch %s`",
		n.Branch, n.Stack, other, other)
}
