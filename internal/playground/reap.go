package playground

import (
	"fmt"
	"sort"
	"time"

	"github.com/shoestring-dev/shoestring/stacks"
)

// Stack is what the reaper knows of one stack of the project's backend.
type Stack struct {
	Name string
	// Branch is the branch recorded in the stack's config (shoestring:playground.branch) when
	// `shoestring playground up` made it; "" for every other stack.
	Branch string
	// Created is when the playground was made (recorded in its config); zero when unknown.
	Created time.Time
	// LastUpdate is the end of the stack's last update; zero when it never ran.
	LastUpdate time.Time
}

// Age is how long a playground has existed at now: since it was created, or since its last update
// when the creation time is unknown.
func (s Stack) Age(now time.Time) time.Duration {
	t := s.Created
	if t.IsZero() {
		t = s.LastUpdate
	}
	if t.IsZero() {
		return 0
	}
	return now.Sub(t)
}

// Removal is one playground the reaper removes, and why.
type Removal struct {
	Stack  string
	Branch string
	Reason string
}

// Kept is a stack the reaper left alone although it looked at it, and why.
type Kept struct {
	Stack  string
	Reason string
}

// Reap chooses the playgrounds to destroy: those whose branch no longer exists (merged or deleted)
// and those older than maxAge (0: no age limit). It never chooses a stack that is not a playground:
// the name must carry stacks.PlaygroundNamePrefix AND the stack's recorded branch must map to
// exactly that name, so a hand-made stack such as "play-demo" without a recorded branch, or a base stack, is kept.
// branches is the set of branches that exist now; an empty set means the list is unknown (a failed
// lookup must not look like "every branch is gone"), and then only the age limit applies.
func Reap(all []Stack, branches map[string]bool, maxAge time.Duration, now time.Time) (remove []Removal, kept []Kept) {
	for _, s := range all {
		if !stacks.IsPlaygroundStack(s.Name) {
			continue // not ours to look at: never listed, never removed
		}
		if s.Branch == "" {
			kept = append(kept, Kept{s.Name, "no playground branch recorded in its config (not made by `shoestring playground up`)"})
			continue
		}
		n, err := stacks.PlaygroundForBranch(s.Branch)
		if err != nil || n.Stack != s.Name {
			kept = append(kept, Kept{s.Name, fmt.Sprintf("its recorded branch %q does not map to this stack name", s.Branch)})
			continue
		}
		switch age := s.Age(now); {
		case len(branches) > 0 && !branches[s.Branch]:
			remove = append(remove, Removal{s.Name, s.Branch, "branch " + s.Branch + " no longer exists (merged or deleted)"})
		case maxAge > 0 && age > maxAge:
			remove = append(remove, Removal{s.Name, s.Branch, fmt.Sprintf("older than %s (age %s)", maxAge, age.Round(time.Minute))})
		}
	}
	sort.Slice(remove, func(i, j int) bool { return remove[i].Stack < remove[j].Stack })
	sort.Slice(kept, func(i, j int) bool { return kept[i].Stack < kept[j].Stack })
	return remove, kept
}
