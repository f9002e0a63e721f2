package stacks

// WorkloadsConfig is the team's services and what they share (seeds 002 and 003).
// Owned by the workloads work (issue 4); the edge and dev tooling read Services.
type WorkloadsConfig struct {
	// Namespace is where the services run ("the base namespace" playgrounds fall back to).
	Namespace string    `config:"namespace"`
	Services  []Service `config:"services"`
	// Secrets holds every secret value: service name -> variable name -> value (Pulumi secrets).
	Secrets map[string]map[string]Secret `config:"secrets"`
}

// Service is one deployable service. Other sections refer to a service by Name.
type Service struct {
	Name  string        `json:"name"`
	Image string        `json:"image"`
	Ports []ServicePort `json:"ports"`
	// Routes are the edge's routes to this service (see edge.go).
	Routes []Route `json:"routes"`
}

type ServicePort struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

func (c *WorkloadsConfig) defaults() { c.Namespace = "default" }

func (c *WorkloadsConfig) check(*Config) []FieldError { return nil }
