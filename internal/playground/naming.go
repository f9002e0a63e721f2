// Package playground is the pure part of per-branch playgrounds: which services a playground
// deploys, how its stack's config derives from its base stack's, which playgrounds the reaper
// removes and what each one costs. The naming rules (branch -> namespace, stack, host) are the
// schema's (stacks/playground_naming.go). The CLI (cmd/shoestring playground) calls this package;
// nothing here talks to Pulumi or Kubernetes.
package playground

import (
	"fmt"

	"github.com/shoestring-dev/shoestring/stacks"
)

// CheckCollision refuses to create a playground for branch when a playground of another branch
// already has the same names (e.g. play/Login_Form and play/login-form). existing maps each
// playground stack to the branch it was made for.
func CheckCollision(n stacks.PlaygroundName, existing map[string]string) error {
	other, taken := existing[n.Stack]
	if !taken || other == n.Branch {
		return nil
	}
	return fmt.Errorf("branch %q maps to playground %q, which already belongs to branch %q: rename one of the branches (names are lowercased and every run of other characters becomes \"-\"), or remove the other playground with `shoestring playground down --branch %s`",
		n.Branch, n.Stack, other, other)
}
