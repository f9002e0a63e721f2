// Package grammar is the one owner of the values the DNS-sync controller and the Pulumi program
// both check: the Cloudflare zone id, the owner id the controller marks its records with, and the
// names it keeps. The controller parses them from its flags; the program checks the same values in
// the stack file before it deploys the controller with them, and bootstrap the zone and zone id it
// writes into the stacks' commands, so a value one accepts the others accept too. A leaf: it
// imports nothing of ours, so every side may import it.
package grammar

import (
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Formats no library defines.
var (
	// Cloudflare's zone ids are 32 lowercase hex digits; its API offers no offline check.
	zoneIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// The owner id is written into each record's comment as the controller's marker, so it stays
	// a short token without spaces or the marker's own separators.
	ownerIDRe = regexp.MustCompile(`^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$`)
)

// IsZoneID says whether s is written as a Cloudflare zone id (and not a zone name).
func IsZoneID(s string) bool { return zoneIDRe.MatchString(s) }

// IsOwnerID says whether s may mark the controller's records: 1-63 letters, digits, '-', '_' or
// '.', starting with a letter or digit.
func IsOwnerID(s string) bool { return ownerIDRe.MatchString(s) }

// IsDomainName says whether s, in canonical form (lower case, no trailing dot), is a zone name or
// a name whose A/AAAA records the controller keeps. The grammar is apimachinery's
// IsFullyQualifiedDomainName: RFC 1123 labels of at most 63 characters, at least two of them,
// 253 characters in all. Those are host names clients resolve and certificates cover, which is
// what an A/AAAA record is for; not IsDNS1123Subdomain (one label would do, and labels would not
// be checked one by one), not the underscore variant (underscore names such as _acme-challenge
// are service records, never a host's), not the wildcard one (the controller keeps exact names;
// the program writes the playgrounds' wildcard record itself). A last label of digits only is
// refused (no top-level domain is one, RFC 3696), which also refuses an IPv4 address.
func IsDomainName(s string) bool {
	if len(validation.IsFullyQualifiedDomainName(nil, s)) > 0 || strings.HasSuffix(s, ".") {
		return false
	}
	tld := s[strings.LastIndexByte(s, '.')+1:]
	return strings.Trim(tld, "0123456789") != ""
}
