package stacks

// DevConfig is the developer tooling: playgrounds, dev mode, local images (seeds 000-002).
// Owned by the dev-tooling work (issue 6).
type DevConfig struct{}

func (c *DevConfig) defaults()                  {}
func (c *DevConfig) check(*Config) []FieldError { return nil }
