package stacks

// EdgeConfig is the nginx edge on every node (seed 004). Owned by the edge work (issue 5).
type EdgeConfig struct{}

// Route sends requests for Host (and PathPrefix) to a service's port. Declared per service
// (Service.Routes).
type Route struct {
	Host       string `json:"host"`
	PathPrefix string `json:"pathPrefix"`
	Port       string `json:"port"` // a port name of the service, or its number; default: its first port
}

func (c *EdgeConfig) defaults()                  {}
func (c *EdgeConfig) check(*Config) []FieldError { return nil }
