package stacks

import (
	"fmt"
	"strings"
)

// PlaygroundWildcard is the DNS record the program creates for the playgrounds, "*.<playground
// domain>" (a CNAME to shoestring:dns.name, like the aliases), when the stack runs DNS sync and the
// playground domain is in its zone; "" otherwise (no playgrounds, or their DNS is managed elsewhere).
func (c *Config) PlaygroundWildcard() string {
	d, domain := &c.DNS, strings.ToLower(strings.TrimSuffix(c.Edge.Playgrounds.Domain, "."))
	if domain == "" || !c.DNSSync.Enabled || c.Playground.IsPlayground() || d.Zone == "" || d.Name == "" {
		return ""
	}
	if domain != d.Zone && !strings.HasSuffix(domain, "."+d.Zone) {
		return ""
	}
	return "*." + domain
}

// labelsBelow is how many labels name has beyond zone (name is in the zone).
func labelsBelow(name, zone string) int {
	return strings.Count(strings.TrimSuffix(name, zone), ".")
}

// checkUniversalSSLCovers refuses proxied names Cloudflare's Universal SSL certificate does not
// cover: it holds the zone and *.zone only, so a browser reaching a.b.zone through the proxy gets
// a certificate error (a free plan has no other edge certificate).
func (c *Config) checkUniversalSSLCovers() []FieldError {
	d := &c.DNS
	const dk = Namespace + ":dns"
	zone := d.Zone
	fix := func(example string) string {
		return fmt.Sprintf("use a name one label below the zone, e.g. %q (Universal SSL covers %s and *.%s), or set %s.advancedCertificate: true if the zone has a certificate for it",
			example, zone, zone, dk)
	}
	flat := func(name string) string {
		first, rest, _ := strings.Cut(name, ".")
		return first + "-" + strings.ReplaceAll(strings.TrimSuffix(rest, "."+zone), ".", "-") + "." + zone
	}
	problem := func(n int) string {
		return fmt.Sprintf("is %d labels below the zone %s, beyond Cloudflare's Universal SSL certificate, so browsers reaching it through the proxy get a certificate error", n, zone)
	}
	var errs []FieldError
	if inZone(d.Name, zone) {
		if n := labelsBelow(d.Name, zone); n > 1 {
			errs = append(errs, fieldErr(dk+".name", d.Name, problem(n), fix(flat(d.Name))))
		}
	}
	for i, a := range d.FullAliases() {
		if inZone(a, zone) {
			if n := labelsBelow(a, zone); n > 1 {
				errs = append(errs, fieldErr(fmt.Sprintf("%s.aliases[%d]", dk, i), d.Aliases[i], problem(n), fix(flat(a))))
			}
		}
	}
	if w := c.PlaygroundWildcard(); w != "" {
		if n := labelsBelow(w, zone); n > 1 {
			errs = append(errs, fieldErr(Namespace+":edge.playgrounds.domain", c.Edge.Playgrounds.Domain,
				fmt.Sprintf("makes the proxied record %s, %d labels below the zone %s: Cloudflare's Universal SSL certificate covers only *.%s, so browsers get a certificate error on every playground", w, n, zone, zone),
				fmt.Sprintf("use the zone itself, %q (each playground is then <feature>.%s), or set %s.advancedCertificate: true if the zone has a certificate for %s", zone, zone, dk, w)))
		}
	}
	return errs
}

func inZone(name, zone string) bool { return name == zone || strings.HasSuffix(name, "."+zone) }
