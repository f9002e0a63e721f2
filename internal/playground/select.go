package playground

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// Services chooses what a playground deploys: the services the branch changes, plus the gateways
// that <feature>.<domain> (and <feature>-<service>.<domain> for further ones) route to. Everything
// else is reached in the base namespace through the DNS search path. all is every service of the
// base stack, in its order; the result keeps that order.
func Services(all []string, changed []string, gateways ...string) ([]string, error) {
	want := map[string]bool{}
	for _, gateway := range gateways {
		if gateway == "" {
			continue
		}
		if !slices.Contains(all, gateway) {
			return nil, fmt.Errorf("the gateway service %q is not a service of the base stack (have %s): set shoestring:edge.playgrounds.gatewayService (or gatewayServices) to the services <feature>.<domain> should reach",
				gateway, strings.Join(all, ", "))
		}
		want[gateway] = true
	}
	for _, s := range changed {
		if !slices.Contains(all, s) {
			return nil, fmt.Errorf("changed service %q is not a service of the base stack (have %s)", s, strings.Join(all, ", "))
		}
		want[s] = true
	}
	var out []string
	for _, s := range all {
		if want[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// ChangedServices maps the files a branch changes (paths relative to the repository root, as
// `git diff --name-only` prints them) to the services whose source folder holds them. sources maps a
// service to its folder; services without an entry are not matched. The result is sorted.
func ChangedServices(files []string, sources map[string]string) []string {
	hit := map[string]bool{}
	for _, f := range files {
		f = path.Clean(f)
		for svc, dir := range sources {
			dir = strings.TrimSuffix(path.Clean(dir), "/")
			if f == dir || strings.HasPrefix(f, dir+"/") {
				hit[svc] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(hit))
}
