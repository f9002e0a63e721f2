package stacks

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The workloads vocabulary (generic backing, init databases, pull secrets, PDB/spread/HPA...): defaults of a stack using every new key, and one bad value of
// each key with its full key, value, problem and fix.

func generic(extra map[string]any) map[string]any {
	b := map[string]any{"name": "beanstalkd", "engine": "generic", "image": "ghcr.io/acme/beanstalkd:1.13",
		"ports": []any{map[string]any{"name": "beanstalk", "port": 11300}}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func addBacking(raw map[string]any, b map[string]any) {
	raw["shoestring:backing"] = append(raw["shoestring:backing"].([]any), b)
}

func TestVocabularyDefaults(t *testing.T) {
	raw, secret := workloadsRaw(t, func(svc, raw map[string]any) {
		raw["shoestring:storageClass"] = "standard-rwo"
		raw["shoestring:commonSecretEnv"] = []any{"SHARED_TOKEN"}
		raw["shoestring:registry"] = map[string]any{"server": "ghcr.io", "username": "ci-bot"}
		raw["shoestring:imagePullSecrets"] = []any{"regcred"}
		secrets := raw["shoestring:secrets"].(map[string]any)
		secrets["common"] = map[string]any{"SHARED_TOKEN": "t0k3n"}
		secrets["registry"] = map[string]any{"password": "pw"}
		raw["shoestring:backing"].([]any)[0].(map[string]any)["databases"] = []any{"app", "app_test"}
		addBacking(raw, generic(map[string]any{"volume": map[string]any{"mountPath": "/data"}}))
		addBacking(raw, generic(map[string]any{"name": "memcached", "storageClass": "fast"}))
		svc["replicas"] = 3
		svc["resources"] = map[string]any{"requests": map[string]any{"cpu": "100m"}}
		svc["spread"] = map[string]any{}
		svc["autoscaling"] = map[string]any{"maxReplicas": 5}
		svc["disruptionBudget"] = map[string]any{"minAvailable": 0}
		svc["writablePaths"] = []any{"/tmp"}
		svc["waitFor"] = []any{"mysql", "beanstalkd", "http://api-docs:8080/healthz", "cmd: test -f /tmp/ready"}
	})
	cfg, err := Parse(raw, secret)
	require.NoError(t, err)
	assert.Equal(t, "standard-rwo", cfg.Backing[0].StorageClass, "the stack's storage class is the default")
	assert.Equal(t, "fast", cfg.Backing[2].StorageClass, "an entry's own wins")
	g := cfg.Backing[1]
	assert.Equal(t, 11300, g.Port, "generic: the first port")
	assert.Equal(t, "1Gi", g.Volume.Size)
	assert.Equal(t, "", g.StorageSize, "generic keeps no storageSize")
	assert.Equal(t, 11300, cfg.Endpoints()["beanstalkd"])
	s := cfg.Services[0]
	assert.Equal(t, Spread{TopologyKey: "kubernetes.io/hostname", MaxSkew: 1, WhenUnsatisfiable: ScheduleAnyway}, *s.Spread)
	assert.Equal(t, Autoscaling{MinReplicas: 1, MaxReplicas: 5, TargetCPUUtilization: 80}, *s.Autoscaling)
	for i, want := range []WaitFor{
		{Kind: WaitTCP, Host: "mysql", Port: 3306},
		{Kind: WaitTCP, Host: "beanstalkd", Port: 11300},
		{Kind: WaitHTTP, Host: "api-docs", URL: "http://api-docs:8080/healthz"},
		{Kind: WaitCommand, Command: "test -f /tmp/ready"},
	} {
		got, err := ParseWaitFor(s.WaitFor[i], cfg.Endpoints())
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestVocabularyValidation(t *testing.T) {
	cron := func(svc map[string]any) map[string]any { return svc["cronJobs"].([]any)[0].(map[string]any) }
	job := func(svc map[string]any) map[string]any { return svc["releaseJobs"].([]any)[0].(map[string]any) }
	cases := []struct {
		name                     string
		mutate                   func(svc, raw map[string]any)
		key, value, problem, fix string
	}{
		// a. generic backing services
		{"generic without image", func(svc, raw map[string]any) { addBacking(raw, generic(map[string]any{"image": nil})) },
			"shoestring:backing[1].image", "", "is required for engine \"generic\"", "rabbitmq:4.1"},
		{"generic without ports", func(svc, raw map[string]any) { addBacking(raw, generic(map[string]any{"ports": nil})) },
			"shoestring:backing[1].ports", "", "is required for engine \"generic\"", "ports: [{name: beanstalk, port: 11300}]"},
		{"generic with port", func(svc, raw map[string]any) { addBacking(raw, generic(map[string]any{"port": 11300})) },
			"shoestring:backing[1].port", "11300", "is not for engine \"generic\"", "list the ports instead"},
		{"generic bad port", func(svc, raw map[string]any) {
			addBacking(raw, generic(map[string]any{"ports": []any{map[string]any{"name": "q", "port": 70000}}}))
		}, "shoestring:backing[1].ports[0].port", "70000", "is not a port", "1-65535"},
		{"generic volume without mountPath", func(svc, raw map[string]any) {
			addBacking(raw, generic(map[string]any{"volume": map[string]any{"size": "1Gi"}}))
		},
			"shoestring:backing[1].volume.mountPath", "", "is required", "/data"},
		{"generic volume relative", func(svc, raw map[string]any) {
			addBacking(raw, generic(map[string]any{"volume": map[string]any{"mountPath": "data"}}))
		},
			"shoestring:backing[1].volume.mountPath", "data", "is not an absolute path", "/data"},
		{"generic volume size", func(svc, raw map[string]any) {
			addBacking(raw, generic(map[string]any{"volume": map[string]any{"mountPath": "/data", "size": "1GB"}}))
		}, "shoestring:backing[1].volume.size", "1GB", "is not a quantity", "1Gi"},
		{"generic storageSize", func(svc, raw map[string]any) { addBacking(raw, generic(map[string]any{"storageSize": "1Gi"})) },
			"shoestring:backing[1].storageSize", "1Gi", "is not for engine \"generic\"", "volume:"},
		{"command on mysql", func(svc, raw map[string]any) {
			raw["shoestring:backing"].([]any)[0].(map[string]any)["command"] = []any{"mysqld"}
		},
			"shoestring:backing[0].command", "", "is only for engine \"generic\"", "set engine: generic"},
		{"unknown engine names generic", func(svc, raw map[string]any) { addBacking(raw, generic(map[string]any{"engine": "beanstalkd"})) },
			"shoestring:backing[1].engine", "beanstalkd", "is not a supported engine", `"generic"`},
		// b. per-CronJob and per-Job env
		{"cron env name", func(svc, raw map[string]any) { cron(svc)["env"] = map[string]any{"1BAD": "x"} },
			"shoestring:services[0].cronJobs[0].env.1BAD", "1BAD", "is not an environment variable name", "not starting with a digit"},
		{"job env name", func(svc, raw map[string]any) { job(svc)["env"] = map[string]any{"A B": "x"} },
			"shoestring:services[0].releaseJobs[0].env.A B", "A B", "is not an environment variable name", ""},
		// c. common Secret
		{"common secret missing", func(svc, raw map[string]any) { raw["shoestring:commonSecretEnv"] = []any{"SHARED_TOKEN"} },
			"shoestring:secrets.common.SHARED_TOKEN", "", "is referenced but not set", "pulumi config set --secret --path 'secrets.common.SHARED_TOKEN' <value>"},
		{"common secret name", func(svc, raw map[string]any) { raw["shoestring:commonSecretEnv"] = []any{"9X"} },
			"shoestring:commonSecretEnv[0]", "9X", "is not an environment variable name", ""},
		// d. init databases
		{"database name", func(svc, raw map[string]any) {
			raw["shoestring:backing"].([]any)[0].(map[string]any)["databases"] = []any{"app", "App-Test"}
		}, "shoestring:backing[0].databases[1]", "App-Test", "is not a database name", "app_test"},
		{"database twice", func(svc, raw map[string]any) {
			raw["shoestring:backing"].([]any)[0].(map[string]any)["databases"] = []any{"app", "app"}
		}, "shoestring:backing[0].databases[1]", "app", "is listed twice", ""},
		{"databases on redis", func(svc, raw map[string]any) {
			addBacking(raw, map[string]any{"name": "redis", "engine": "redis", "databases": []any{"x"}})
		}, "shoestring:backing[1].databases", "x", "is only for engines \"mysql\" and \"postgresql\"", ""},
		{"databases on external", func(svc, raw map[string]any) {
			raw["shoestring:backing"] = []any{map[string]any{"name": "mysql", "engine": "mysql", "mode": "external", "host": "db.example.com", "databases": []any{"app"}}}
		}, "shoestring:backing[0].databases", "", "is only for mode \"in-cluster\"", ""},
		// e. waitFor by URL and command
		{"https url", func(svc, raw map[string]any) { svc["waitFor"] = []any{"https://api:8443/healthz"} },
			"shoestring:services[0].waitFor[0]", "https://api:8443/healthz", "is not an http:// URL", "cmd: <shell command>"},
		{"url bad port", func(svc, raw map[string]any) { svc["waitFor"] = []any{"http://api:99999/"} },
			"shoestring:services[0].waitFor[0]", "http://api:99999/", "has an invalid port", "http://host[:port]/path"},
		{"empty command", func(svc, raw map[string]any) { svc["waitFor"] = []any{"cmd:  "} },
			"shoestring:services[0].waitFor[0]", "cmd:  ", "is an empty command", ""},
		{"job waitFor url", func(svc, raw map[string]any) { job(svc)["waitFor"] = []any{"http://"} },
			"shoestring:services[0].releaseJobs[0].waitFor[0]", "http://", "is not an http:// URL with a host", ""},
		// f. imagePullSecrets and registry
		{"pull secret name", func(svc, raw map[string]any) { raw["shoestring:imagePullSecrets"] = []any{"RegCred"} },
			"shoestring:imagePullSecrets[0]", "RegCred", "is not a Secret name", "regcred"},
		{"pull secret twice", func(svc, raw map[string]any) { raw["shoestring:imagePullSecrets"] = []any{"regcred", "regcred"} },
			"shoestring:imagePullSecrets[1]", "regcred", "is listed twice", ""},
		{"registry password missing", func(svc, raw map[string]any) {
			raw["shoestring:registry"] = map[string]any{"server": "ghcr.io", "username": "bot"}
		}, "shoestring:secrets.registry.password", "", "is referenced but not set", "secrets.registry.password"},
		{"registry server", func(svc, raw map[string]any) {
			raw["shoestring:registry"] = map[string]any{"server": "https://ghcr.io", "username": "bot"}
		}, "shoestring:registry.server", "https://ghcr.io", "is not a registry host", "ghcr.io"},
		{"registry user", func(svc, raw map[string]any) { raw["shoestring:registry"] = map[string]any{"server": "ghcr.io"} },
			"shoestring:registry.username", "", "is not a registry user name", "ci-bot"},
		// g. writable paths
		{"writable path relative", func(svc, raw map[string]any) { svc["writablePaths"] = []any{"tmp"} },
			"shoestring:services[0].writablePaths[0]", "tmp", "is not an absolute path", "/tmp"},
		{"writable path root", func(svc, raw map[string]any) { svc["writablePaths"] = []any{"/"} },
			"shoestring:services[0].writablePaths[0]", "/", "is the root folder", ""},
		{"writable path unclean", func(svc, raw map[string]any) { svc["writablePaths"] = []any{"/var/cache/"} },
			"shoestring:services[0].writablePaths[0]", "/var/cache/", "is not a clean path", ""},
		{"writable path twice", func(svc, raw map[string]any) { svc["writablePaths"] = []any{"/tmp", "/tmp"} },
			"shoestring:services[0].writablePaths[1]", "/tmp", "is listed twice", ""},
		// h. storage class
		{"storage class", func(svc, raw map[string]any) { raw["shoestring:storageClass"] = "Premium_RWO" },
			"shoestring:storageClass", "Premium_RWO", "is not a storage class name", "standard-rwo"},
		{"backing storage class", func(svc, raw map[string]any) {
			raw["shoestring:backing"].([]any)[0].(map[string]any)["storageClass"] = "SSD!"
		}, "shoestring:backing[0].storageClass", "SSD!", "is not a storage class name", "shoestring:storageClass"},
		// i. PDB, spread, HPA
		{"pdb minAvailable not below replicas", func(svc, raw map[string]any) {
			svc["replicas"] = 2
			svc["disruptionBudget"] = map[string]any{"minAvailable": 2}
		}, "shoestring:services[0].disruptionBudget.minAvailable", "2", "is not less than replicas (2)", "use at most 1, or maxUnavailable: 1"},
		{"pdb minAvailable against the autoscaler", func(svc, raw map[string]any) {
			svc["replicas"] = 5
			svc["resources"] = map[string]any{"requests": map[string]any{"cpu": "100m"}}
			svc["autoscaling"] = map[string]any{"minReplicas": 2, "maxReplicas": 4}
			svc["disruptionBudget"] = map[string]any{"minAvailable": 2}
		}, "shoestring:services[0].disruptionBudget.minAvailable", "2", "is not less than autoscaling.minReplicas (2)", ""},
		{"pdb both", func(svc, raw map[string]any) {
			svc["disruptionBudget"] = map[string]any{"minAvailable": 0, "maxUnavailable": 1}
		}, "shoestring:services[0].disruptionBudget", "", "needs exactly one of minAvailable and maxUnavailable", "maxUnavailable: 1"},
		{"pdb maxUnavailable 0", func(svc, raw map[string]any) { svc["disruptionBudget"] = map[string]any{"maxUnavailable": 0} },
			"shoestring:services[0].disruptionBudget.maxUnavailable", "0", "is less than 1", "use 1 or more"},
		{"spread policy", func(svc, raw map[string]any) { svc["spread"] = map[string]any{"whenUnsatisfiable": "scheduleAnyway"} },
			"shoestring:services[0].spread.whenUnsatisfiable", "scheduleAnyway", "is not a topology spread policy", `"ScheduleAnyway", "DoNotSchedule"`},
		{"spread key", func(svc, raw map[string]any) { svc["spread"] = map[string]any{"topologyKey": "zone name"} },
			"shoestring:services[0].spread.topologyKey", "zone name", "is not a node label key", "topology.kubernetes.io/zone"},
		{"spread skew", func(svc, raw map[string]any) { svc["spread"] = map[string]any{"maxSkew": -1} },
			"shoestring:services[0].spread.maxSkew", "-1", "is less than 1", ""},
		{"hpa needs a cpu request", func(svc, raw map[string]any) {
			svc["resources"] = map[string]any{"requests": map[string]any{"memory": "64Mi"}}
			svc["autoscaling"] = map[string]any{"maxReplicas": 3}
		}, "shoestring:services[0].resources.requests.cpu", "", "is required with autoscaling", "100m"},
		{"hpa max below min", func(svc, raw map[string]any) { svc["autoscaling"] = map[string]any{"minReplicas": 3, "maxReplicas": 2} },
			"shoestring:services[0].autoscaling.maxReplicas", "2", "is less than minReplicas (3)", ""},
		{"hpa max missing", func(svc, raw map[string]any) { svc["autoscaling"] = map[string]any{} },
			"shoestring:services[0].autoscaling.maxReplicas", "0", "is less than minReplicas (1) or missing", ""},
		{"hpa target", func(svc, raw map[string]any) {
			svc["autoscaling"] = map[string]any{"maxReplicas": 3, "targetCPUUtilization": 150}
		},
			"shoestring:services[0].autoscaling.targetCPUUtilization", "150", "is not a percentage of the CPU request", "1-100"},
		{"hpa max bound", func(svc, raw map[string]any) { svc["autoscaling"] = map[string]any{"maxReplicas": 1000} },
			"shoestring:services[0].autoscaling.maxReplicas", "1000", "is more than this program allows", "at most 50, the bound of replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := errorAt(t, tc.mutate, tc.key)
			assert.Equal(t, tc.value, e.Value)
			assert.Contains(t, e.Problem, tc.problem)
			assert.Contains(t, e.Fix, tc.fix)
		})
	}
}

func TestPlaygroundGatewayServices(t *testing.T) {
	c, err := Parse(edgeStack("", `{"playgrounds":{"domain":"play.example.com","gatewayServices":["web","api"]}}`), nil)
	require.NoError(t, err)
	assert.Equal(t, "web", c.Edge.Playgrounds.GatewayService, "the first is the <feature>.<domain> gateway")
	assert.Equal(t, 8080, c.PlaygroundGatewayPort())
	assert.Equal(t, []PlaygroundGateway{{Service: "api", Port: 8000}}, c.PlaygroundExtraGateways())

	for _, tc := range []struct{ edge, key, value, problem string }{
		{`{"playgrounds":{"domain":"play.example.com","gatewayServices":["web","shop"]}}`,
			"shoestring:edge.playgrounds.gatewayServices[1]", "shop", "is not a service of this stack"},
		{`{"playgrounds":{"domain":"play.example.com","gatewayServices":["web","web"]}}`,
			"shoestring:edge.playgrounds.gatewayServices[1]", "web", "is listed twice"},
		{`{"playgrounds":{"domain":"play.example.com","gatewayService":"api","gatewayServices":["web","api"]}}`,
			"shoestring:edge.playgrounds.gatewayService", "api", "is given together with gatewayServices"},
		{`{"playgrounds":{"domain":"play.example.com","gatewayServices":["shop"]}}`,
			"shoestring:edge.playgrounds.gatewayServices[0]", "shop", "is not a service of this stack"},
	} {
		_, err := Parse(edgeStack("", tc.edge), nil)
		var errs Errors
		require.True(t, errors.As(err, &errs), tc.edge)
		found := false
		for _, e := range errs {
			if e.Key == tc.key {
				found = true
				assert.Equal(t, tc.value, e.Value)
				assert.Contains(t, e.Problem, tc.problem)
			}
		}
		assert.True(t, found, "no %s in %v", tc.key, err)
	}
}

func TestRegistryGroupIsNotAService(t *testing.T) {
	raw, secret := workloadsRaw(t, func(svc, raw map[string]any) {
		raw["shoestring:registry"] = map[string]any{"server": "ghcr.io", "username": "bot"}
		raw["shoestring:secrets"].(map[string]any)["registry"] = map[string]any{"password": "pw"}
		svc["name"] = "registry"
		raw["shoestring:secrets"].(map[string]any)["registry"].(map[string]any)["DB_PASSWORD"] = "x"
	})
	_, err := Parse(raw, secret)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:services[0].name: "registry" is the secret group of shoestring:registry; choose another name`)
}
