package program_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/testing/mockrender"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// benchRaw is a stack with services services of cronJobs CronJobs each, each
// service with a worker, a secret, a before- and an after-Job, and one in-cluster database.
func benchRaw(services, cronJobs int) map[string]string {
	var svcs []any
	secrets := map[string]any{"mysql": map[string]any{"MYSQL_ROOT_PASSWORD": "x"}}
	for i := 0; i < services; i++ {
		name := fmt.Sprintf("svc%02d", i)
		var crons []any
		for j := 0; j < cronJobs; j++ {
			crons = append(crons, map[string]any{
				"name": fmt.Sprintf("cron%02d", j), "schedule": fmt.Sprintf("%d * * * *", j%60),
				"command": []any{"bin/console", fmt.Sprintf("app:task-%d", j)},
			})
		}
		svcs = append(svcs, map[string]any{
			"name": name, "image": "ghcr.io/acme/" + name + ":1.0.0",
			"ports":     []any{map[string]any{"name": "http", "port": 8080}},
			"env":       map[string]any{"APP_MODE": name},
			"secretEnv": []any{"DB_PASSWORD"},
			"waitFor":   []any{"mysql"},
			"workers":   []any{map[string]any{"name": "queue", "command": []any{"bin/worker"}}},
			"cronJobs":  crons,
			"releaseJobs": []any{
				map[string]any{"name": "migrate", "command": []any{"bin/migrate"}, "when": "before"},
				map[string]any{"name": "warm", "command": []any{"bin/warm"}, "when": "after"},
			},
		})
		secrets[name] = map[string]any{"DB_PASSWORD": "x"}
	}
	raw := map[string]string{}
	for k, v := range map[string]any{
		"shoestring:cluster":   map[string]any{"mode": "existing", "existing": map[string]any{"kubeconfig": "/tmp/kubeconfig"}},
		"shoestring:commonEnv": map[string]any{"DB_HOST": "mysql"},
		"shoestring:backing":   []any{map[string]any{"name": "mysql", "engine": "mysql", "secretEnv": []any{"MYSQL_ROOT_PASSWORD"}}},
		"shoestring:services":  svcs,
		"shoestring:secrets":   secrets,
	} {
		b, _ := json.Marshal(v)
		raw[k] = string(b)
	}
	return raw
}

// BenchmarkRenderWorkloads20x30 is parsing and validating the config, evaluating the program with
// mocks and turning the record into manifests, for 20 services x 30 CronJobs (about 700 objects).
// Figures: bench/workloads.txt and the README.
func BenchmarkRenderWorkloads20x30(b *testing.B) {
	raw := benchRaw(20, 30)
	b.ReportAllocs()
	objects := 0
	for i := 0; i < b.N; i++ {
		cfg, err := stacks.Parse(raw, []string{"shoestring:secrets"})
		if err != nil {
			b.Fatal(err)
		}
		rec, err := pulumimock.Run("bench", func(ctx *pulumi.Context) error { return program.Deploy(ctx, cfg) })
		if err != nil {
			b.Fatal(err)
		}
		r, err := mockrender.FromRecord("bench", rec)
		if err != nil {
			b.Fatal(err)
		}
		objects = len(r.Order.Objects)
	}
	b.ReportMetric(float64(objects), "objects")
}

// BenchmarkValidateWorkloads20x30 is the config part alone (what `pulumi preview` spends before the
// program registers anything).
func BenchmarkValidateWorkloads20x30(b *testing.B) {
	raw := benchRaw(20, 30)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := stacks.Parse(raw, []string{"shoestring:secrets"}); err != nil {
			b.Fatal(err)
		}
	}
}
