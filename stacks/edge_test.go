package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// edgeStack is a valid stack with two services; cases add routes and edge settings to it.
func edgeStack(services, edge string) map[string]string {
	raw := map[string]string{
		"shoestring:cluster": gke,
		"shoestring:services": `[
			{"name":"web","image":"ghcr.io/x/web:1","ports":[{"name":"http","port":8080},{"name":"admin","port":9090}]` + services + `},
			{"name":"api","image":"ghcr.io/x/api:1","ports":[{"name":"http","port":8000}]}]`,
	}
	if edge != "" {
		raw["shoestring:edge"] = edge
	}
	return raw
}

func TestEdgeDefaults(t *testing.T) {
	c, err := Parse(edgeStack("", ""), nil)
	require.NoError(t, err)
	e := c.Edge
	assert.Equal(t, "edge", e.Namespace)
	assert.Equal(t, "", e.CertificateSecret, "HTTP only unless a certificate is configured")
	assert.Empty(t, e.Resolver, "the pod's nameserver")
	assert.Equal(t, EdgeResources{CPU: "10m", Memory: "16Mi", MemoryLimit: "64Mi"}, e.Resources)
	assert.Equal(t, "", e.Playgrounds.Domain, "no playground routing unless a domain is set")
	assert.Equal(t, "play-login", PlaygroundNamespace("login"))
}

func TestEdgeRoutesResolveServicesAndPorts(t *testing.T) {
	c, err := Parse(edgeStack(`,"routes":[{"host":"Shop.Example.com"},{"host":"shop.example.com","pathPrefix":"/admin","port":"admin"},{"host":"*.example.org","port":8080}]`,
		`{"routes":[{"host":"api.example.com","service":"api"}]}`), nil)
	require.Error(t, err, "upper case is refused")
	assert.Contains(t, err.Error(), `shoestring:services[0].routes[0].host: "Shop.Example.com" has upper-case letters`)

	c, err = Parse(edgeStack(`,"routes":[{"host":"shop.example.com"},{"host":"shop.example.com","pathPrefix":"/admin","port":"admin"},{"host":"*.example.org","port":8080}]`,
		`{"routes":[{"host":"api.example.com","service":"api"}]}`), nil)
	require.NoError(t, err)
	assert.Equal(t, []ResolvedRoute{
		{Key: "shoestring:services[0].routes[0]", Host: "shop.example.com", PathPrefix: "/", Namespace: "apps", Service: "web", Port: 8080},
		{Key: "shoestring:services[0].routes[1]", Host: "shop.example.com", PathPrefix: "/admin", Namespace: "apps", Service: "web", Port: 9090},
		{Key: "shoestring:services[0].routes[2]", Host: "*.example.org", PathPrefix: "/", Namespace: "apps", Service: "web", Port: 8080},
		{Key: "shoestring:edge.routes[0]", Host: "api.example.com", PathPrefix: "/", Namespace: "apps", Service: "api", Port: 8000},
	}, c.EdgeRoutes())
}

func TestInvalidEdgeConfigurations(t *testing.T) {
	cases := []struct {
		name, routes, edge string
		want               string
	}{
		{"wildcard not leftmost", `,"routes":[{"host":"shop.*.example.com"}]`, "",
			`shoestring:services[0].routes[0].host: "shop.*.example.com" has a wildcard that is not the leftmost label; use a lowercase RFC 1123 host name such as "shop.example.com", or "*.example.com" for every subdomain`},
		{"partial wildcard", `,"routes":[{"host":"shop*.example.com"}]`, "",
			`shoestring:services[0].routes[0].host: "shop*.example.com" has a wildcard that is not a whole label; use a lowercase RFC 1123 host name such as "shop.example.com", or "*.example.com" for every subdomain`},
		{"underscore", `,"routes":[{"host":"my_shop.example.com"}]`, "",
			`shoestring:services[0].routes[0].host: "my_shop.example.com" has an invalid label "my_shop"; use a lowercase RFC 1123 host name such as "shop.example.com", or "*.example.com" for every subdomain`},
		{"single label", `,"routes":[{"host":"localhost"}]`, "",
			`shoestring:services[0].routes[0].host: "localhost" is not a fully qualified host name; use a lowercase RFC 1123 host name such as "shop.example.com", or "*.example.com" for every subdomain`},
		{"label too long", `,"routes":[{"host":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com"}]`, "",
			`has an invalid label "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`},
		{"missing host", `,"routes":[{"pathPrefix":"/x"}]`, "",
			`shoestring:services[0].routes[0].host: is empty; use a lowercase RFC 1123 host name`},
		{"path without slash", `,"routes":[{"host":"shop.example.com","pathPrefix":"api"}]`, "",
			`shoestring:services[0].routes[0].pathPrefix: "api" is not a URL path prefix; start with "/" and use only URL path characters (no spaces, quotes, braces, semicolons or "//"), e.g. "/api"`},
		{"path that would break nginx.conf", `,"routes":[{"host":"shop.example.com","pathPrefix":"/a;b"}]`, "",
			`shoestring:services[0].routes[0].pathPrefix: "/a;b" is not a URL path prefix`},
		{"unknown port name", `,"routes":[{"host":"shop.example.com","port":"metrics"}]`, "",
			`shoestring:services[0].routes[0].port: "metrics" is not a port of service "web"; use one of its ports: "http" (8080), "admin" (9090), or leave port empty for the first`},
		{"unknown port number", `,"routes":[{"host":"shop.example.com","port":"8081"}]`, "",
			`shoestring:services[0].routes[0].port: "8081" is not a port of service "web"`},
		{"unknown service", "", `{"routes":[{"host":"shop.example.com","service":"shop"}]}`,
			`shoestring:edge.routes[0].service: "shop" is not a service of this stack; name one of the services in shoestring:services: "web", "api"`},
		{"conflicting routes", `,"routes":[{"host":"shop.example.com","pathPrefix":"/api"}]`, `{"routes":[{"host":"shop.example.com","pathPrefix":"/api/","service":"api"}]}`,
			`shoestring:edge.routes[0]: "shop.example.com/api/" conflicts with shoestring:services[0].routes[0], which sends the same host and path to web:8080 instead of api:8000; give one of them another host or pathPrefix, or remove one`},
		{"conflict by port", `,"routes":[{"host":"shop.example.com"},{"host":"shop.example.com","port":"admin"}]`, "",
			`shoestring:services[0].routes[1]: "shop.example.com/" conflicts with shoestring:services[0].routes[0], which sends the same host and path to web:8080 instead of web:9090`},
		{"wildcard over the playground domain", `,"routes":[{"host":"*.play.example.com"}]`, `{"playgrounds":{"domain":"play.example.com"}}`,
			`shoestring:services[0].routes[0].host: "*.play.example.com" would take every <feature>.play.example.com away from the playgrounds (nginx prefers wildcard names); route the exact host names instead, or move edge.playgrounds.domain out from under it`},
		{"wildcard over the playground domain's parent", `,"routes":[{"host":"*.example.com"}]`, `{"playgrounds":{"domain":"play.example.com"}}`,
			`shoestring:services[0].routes[0].host: "*.example.com" would take every <feature>.play.example.com away from the playgrounds`},
		{"wildcard playground domain", "", `{"playgrounds":{"domain":"*.example.com"}}`,
			`shoestring:edge.playgrounds.domain: "*.example.com" is a wildcard; use the domain the playgrounds live under`},
		{"playground gateway missing", "", `{"playgrounds":{"domain":"play.example.com"}}`,
			`shoestring:edge.playgrounds.gatewayService: "gateway" is not a service of this stack, so playgrounds would have no gateway; name the service <feature>.play.example.com should reach: one of "web", "api"`},
		{"playground gateway port", "", `{"playgrounds":{"domain":"play.example.com","gatewayService":"web","gatewayPort":80}}`,
			`shoestring:edge.playgrounds.gatewayPort: "80" is not a port of service "web"; use one of its ports: "http" (8080), "admin" (9090), or leave port empty for the first`},
		{"edge in the services' namespace", "", `{"namespace":"apps"}`,
			`shoestring:edge.namespace: "apps" is the services' namespace, which must stay at the restricted Pod Security level`},
		{"timeout without number", "", `{"readTimeout":"s"}`,
			`shoestring:edge.readTimeout: "s" is not an nginx duration; use a positive number with a unit, e.g. "5s", "500ms" or "2m"`},
		{"body size unit", "", `{"clientMaxBodySize":"10MB"}`,
			`shoestring:edge.clientMaxBodySize: "10MB" is not an nginx size`},
		{"resolver with a scheme", "", `{"resolver":["udp://10.0.0.10"]}`,
			`shoestring:edge.resolver[0]: "udp://10.0.0.10" is not a DNS server address`},
		{"memory limit below request", "", `{"resources":{"memory":"128Mi","memoryLimit":"64Mi"}}`,
			`shoestring:edge.resources.memoryLimit: "64Mi" is below resources.memory 128Mi; set a limit at least as large as the request`},
		{"bad quantity", "", `{"resources":{"cpu":"a lot"}}`,
			`shoestring:edge.resources.cpu: "a lot" is not a Kubernetes quantity`},
		{"health port on 80", "", `{"healthPort":80}`,
			`shoestring:edge.healthPort: "80" is not a free port for the health endpoint`},
		{"certificate secret name", "", `{"certificateSecret":"Edge TLS"}`,
			`shoestring:edge.certificateSecret: "Edge TLS" is not a Secret name`},
		{"typo in a key", "", `{"playground":{"domain":"play.example.com"}}`,
			`shoestring:edge.playground: is not a known key; did you mean "playgrounds"?`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(edgeStack(tc.routes, tc.edge), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestWildcardsBesideThePlaygroundsAreFine(t *testing.T) {
	c, err := Parse(edgeStack(`,"routes":[{"host":"*.shop.example.com"},{"host":"*.play.example.org"}]`, `{"playgrounds":{"domain":"play.example.com","gatewayService":"web","gatewayPort":"admin"}}`), nil)
	require.NoError(t, err)
	assert.Equal(t, 9090, c.PlaygroundGatewayPort())
}

func TestSameRouteTwiceIsNotAConflict(t *testing.T) {
	c, err := Parse(edgeStack(`,"routes":[{"host":"shop.example.com","pathPrefix":"/api"},{"host":"shop.example.com","pathPrefix":"/api/","port":"http"}]`, ""), nil)
	require.NoError(t, err)
	assert.Len(t, c.EdgeRoutes(), 2)
}

func TestCheckHostname(t *testing.T) {
	for _, ok := range []string{"example.com", "a.b.example.com", "*.example.com", "x-1.example.com", "1password.com"} {
		assert.Empty(t, CheckHostname(ok), ok)
	}
	for _, bad := range []string{"", "example", "-a.example.com", "a-.example.com", "a..example.com", "*.*.example.com", "example.com.", "a b.example.com"} {
		assert.NotEmpty(t, CheckHostname(bad), bad)
	}
}
