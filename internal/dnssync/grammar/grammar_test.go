package grammar

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDomainName(t *testing.T) {
	for _, ok := range []string{"example.com", "k.example.com", "xn--bcher-kva.example.com", strings.Repeat("a", 63) + ".example.com"} {
		assert.True(t, IsDomainName(ok), ok)
	}
	for _, bad := range []string{"", "example", "10.0.0.1", "k.example.123", "K.example.com", "k.example.com.", "*.example.com", "_acme-challenge.example.com",
		strings.Repeat("a", 64) + ".example.com", strings.Repeat("abcdefghi.", 26) + "com"} {
		assert.False(t, IsDomainName(bad), bad)
	}
}

func TestZoneAndOwnerID(t *testing.T) {
	assert.True(t, IsZoneID("023e105f4ecef8ad9ca31a8372d0c353"))
	for _, bad := range []string{"", "example.com", "023E105F4ECEF8AD9CA31A8372D0C353", "023e105f4ecef8ad9ca31a8372d0c35", "023e105f4ecef8ad9ca31a8372d0c353a"} {
		assert.False(t, IsZoneID(bad), bad)
	}
	for _, ok := range []string{"c1", "prod.eu_1-a", strings.Repeat("a", 63)} {
		assert.True(t, IsOwnerID(ok), ok)
	}
	for _, bad := range []string{"", "a b", "-a", "_a", strings.Repeat("a", 64), "a=b"} {
		assert.False(t, IsOwnerID(bad), bad)
	}
}
