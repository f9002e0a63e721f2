package stacks

// DNSConfig is the Cloudflare name the DNS-sync controller keeps pointed at the nodes (seed 004).
// Owned by the DNS-sync work (issue 7).
type DNSConfig struct{}

func (c *DNSConfig) defaults()                  {}
func (c *DNSConfig) check(*Config) []FieldError { return nil }
