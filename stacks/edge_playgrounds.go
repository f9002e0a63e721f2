package stacks

import (
	"fmt"
	"strings"
)

// checkGateways checks gatewayServices and makes its first entry the gatewayService (which the
// playground tooling and the checks below read).
func (p *EdgePlaygrounds) checkGateways(k string, cfg *Config) []FieldError {
	var errs []FieldError
	if p.GatewayService != "gateway" && p.GatewayService != p.GatewayServices[0] {
		errs = append(errs, fieldErr(k+".gatewayService", p.GatewayService, "is given together with gatewayServices",
			"give one of them: gatewayServices' first entry is the <feature>."+p.Domain+" gateway"))
	}
	p.GatewayService = p.GatewayServices[0]
	seen := map[string]bool{}
	for j, g := range p.GatewayServices {
		gk := fmt.Sprintf("%s.gatewayServices[%d]", k, j)
		var svc *Service
		for i := range cfg.Services {
			if cfg.Services[i].Name == g {
				svc = &cfg.Services[i]
			}
		}
		switch {
		case seen[g]:
			errs = append(errs, fieldErr(gk, g, "is listed twice", "list each gateway service once"))
		case j > 0 && svc == nil && !cfg.Playground.IsPlayground():
			errs = append(errs, fieldErr(gk, g, "is not a service of this stack, so playgrounds would have no such gateway",
				"name a service with ports: one of "+strings.Join(serviceNames(cfg.Services), ", ")))
		case j > 0 && svc != nil && len(svc.Ports) == 0:
			errs = append(errs, fieldErr(gk, g, "has no ports for <feature>-"+g+"."+p.Domain+" to reach", "give the service a port, or remove it here"))
		}
		seen[g] = true
	}
	return errs
}

// PlaygroundGateway is a service playgrounds are reached at, besides the first gateway.
type PlaygroundGateway struct {
	Service string
	Port    int
}

// PlaygroundExtraGateways are edge.playgrounds.gatewayServices after the first, each at its first
// port, as the edge routes <feature>-<service>.<domain> (those not in this stack are left out).
func (c *Config) PlaygroundExtraGateways() []PlaygroundGateway {
	gws := c.Edge.Playgrounds.GatewayServices
	if len(gws) < 2 {
		return nil
	}
	var out []PlaygroundGateway
	for _, g := range gws[1:] {
		for i := range c.Services {
			if s := &c.Services[i]; s.Name == g && len(s.Ports) > 0 {
				out = append(out, PlaygroundGateway{Service: g, Port: s.Ports[0].Port})
			}
		}
	}
	return out
}

// PlaygroundGatewayPort is the port the edge sends <feature>.<domain> to: edge.playgrounds.gatewayPort
// of the gateway service (0 without playground routing or without the service in this stack).
func (c *Config) PlaygroundGatewayPort() int {
	p := &c.Edge.Playgrounds
	for i := range c.Services {
		if c.Services[i].Name == p.GatewayService {
			port, _ := servicePort(&c.Services[i], p.GatewayPort)
			return port
		}
	}
	return 0
}

// checkPlaygroundHostFree refuses a playground whose host is a route's exact host: the edge
// sends that host to the route (exact names win in nginx), so the playground could not be reached.
func (c *Config) checkPlaygroundHostFree() []FieldError {
	host := c.PlaygroundHost()
	if host == "" {
		return nil
	}
	for _, r := range c.EdgeRoutes() {
		if r.Host == host {
			return []FieldError{fieldErr(Namespace+":playground.branch", c.Playground.Branch,
				fmt.Sprintf("makes the playground host %s, which is the host of a route of the base stack (%s), so the edge would never send it to the playground", host, r.Service),
				"name the branch differently (the host is <feature>."+c.Edge.Playgrounds.Domain+")")}
		}
	}
	return nil
}
