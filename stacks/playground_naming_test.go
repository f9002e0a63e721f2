package stacks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlaygroundForBranch(t *testing.T) {
	cases := map[string]string{
		"play/login":             "login",
		"play/Add_Login--Form":   "add-login-form",
		"play/team/JIRA-123 fix": "team-jira-123-fix",
		"play/-x-":               "x",
		"play/1st":               "1st",
	}
	for branch, feature := range cases {
		n, err := PlaygroundForBranch(branch)
		require.NoError(t, err, branch)
		assert.Equal(t, feature, n.Feature, branch)
		assert.Equal(t, "play-"+feature, n.Namespace)
		assert.Equal(t, n.Namespace, n.Stack)
		assert.True(t, isDNSLabel(n.Namespace), n.Namespace)
		assert.Equal(t, feature+".play.example.com", n.Host("play.example.com"))
	}
}

func TestPlaygroundForBranchRefusesNonPlaygroundBranches(t *testing.T) {
	for _, b := range []string{"main", "feature/x", "play", "Play/x", ""} {
		_, err := PlaygroundForBranch(b)
		require.Error(t, err, b)
		assert.Contains(t, err.Error(), "play/<feature>")
	}
	for _, b := range []string{"play/", "play/___", "play/ü"} {
		_, err := PlaygroundForBranch(b)
		require.Error(t, err, b)
		assert.Contains(t, err.Error(), "no usable feature name")
	}
}

func TestPlaygroundForBranchShortensLongNamesWithAHash(t *testing.T) {
	long := "play/" + strings.Repeat("very-long-feature-name-", 5)
	a, err := PlaygroundForBranch(long + "one")
	require.NoError(t, err)
	b, err := PlaygroundForBranch(long + "two")
	require.NoError(t, err)
	assert.Len(t, a.Namespace, 63)
	assert.True(t, isDNSLabel(a.Namespace), a.Namespace)
	assert.True(t, isDNSLabel(b.Namespace), b.Namespace)
	assert.NotEqual(t, a.Namespace, b.Namespace, "a shared prefix must not collide")
	assert.Regexp(t, `^play-very-long-feature-name-.*-[0-9a-f]{8}$`, a.Namespace)
	again, _ := PlaygroundForBranch(long + "one")
	assert.Equal(t, a, again, "deterministic")

	// A feature of exactly the limit stays whole; one more character is shortened.
	exact := strings.Repeat("a", PlaygroundMaxFeatureLen)
	n, _ := PlaygroundForBranch("play/" + exact)
	assert.Equal(t, exact, n.Feature)
	n, _ = PlaygroundForBranch("play/" + exact + "b")
	assert.Len(t, n.Namespace, 63)
	assert.Regexp(t, `-[0-9a-f]{8}$`, n.Feature)
}

func TestPlaygroundFeatureOfNamespace(t *testing.T) {
	f, ok := PlaygroundFeatureOfNamespace("play-login")
	assert.True(t, ok)
	assert.Equal(t, "login", f)
	for _, ns := range []string{"default", "play-", "playground", "play-UPPER", "sandbox"} {
		_, ok := PlaygroundFeatureOfNamespace(ns)
		assert.False(t, ok, ns)
	}
}

func TestPlaygroundSearchDomains(t *testing.T) {
	assert.Equal(t, []string{"default.svc.cluster.local"}, PlaygroundSearchDomains("default", "cluster.local"))
}
