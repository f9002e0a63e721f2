package program

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/components/edge/edgetest"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

const (
	k8sDaemonSet = "kubernetes:apps/v1:DaemonSet"
	k8sConfigMap = "kubernetes:core/v1:ConfigMap"
)

func loadStack(t *testing.T, stack string) *stacks.Config {
	t.Helper()
	cfg, err := stacks.LoadStackFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	return cfg
}

// Every committed stack's nginx.conf, exactly as deployed, passes a real `nginx -t` run through
// the container's start script; only the certificate folder points at a test certificate.
func TestEveryStackNginxConfPassesNginxCheck(t *testing.T) {
	for _, stack := range []string{"dev", "sandbox", "prod"} {
		t.Run(stack, func(t *testing.T) {
			edgetest.NginxBinary(t)
			args := EdgeArgs(loadStack(t, stack))
			conf, err := edge.Conf(args)
			require.NoError(t, err)
			if args.CertificateSecret != "" {
				dir := edgetest.WriteCertificate(t, "example.com")
				require.Contains(t, conf, "ssl_certificate "+edge.TLSDir+"/tls.crt;")
				conf = strings.ReplaceAll(conf, edge.TLSDir+"/", dir+"/")
			}
			out, _, err := edgetest.NginxCheck(t, conf, "10.96.0.10")
			require.NoError(t, err, out)
			assert.Contains(t, out, "test is successful")
		})
	}
}

func TestStacksDeployTheEdgeWithTheirRoutes(t *testing.T) {
	for _, stack := range []string{"dev", "sandbox", "prod"} {
		t.Run(stack, func(t *testing.T) {
			cfg := loadStack(t, stack)
			rec := deployStack(t, stack)
			ds, err := rec.One(k8sDaemonSet, "edge")
			require.NoError(t, err)
			assert.Equal(t, cfg.Edge.Namespace, ds.Plain()["metadata"].(map[string]any)["namespace"])
			cm, err := rec.One(k8sConfigMap, "edge")
			require.NoError(t, err)
			conf := cm.Plain()["data"].(map[string]any)[edge.ConfigKey].(string)
			routes := cfg.EdgeRoutes()
			require.NotEmpty(t, routes, "every stack routes at least one host")
			for _, r := range routes {
				assert.Contains(t, conf, "server_name "+r.Host+";")
				assert.Contains(t, conf, "set $upstream "+r.Service+"."+cfg.Namespace+".svc.cluster.local:")
			}
			assert.Equal(t, cfg.Edge.CertificateSecret != "", strings.Contains(conf, "listen 443 ssl"), "HTTPS exactly when a certificate is configured")
			if d := cfg.Edge.Playgrounds.Domain; d != "" {
				assert.Contains(t, conf, "set $upstream "+cfg.Edge.Playgrounds.GatewayService+"."+stacks.PlaygroundNamespace("$playground")+".svc.cluster.local:")
			}
		})
	}
}

func TestPlaygroundStacksLeaveTheEdgeToTheirBase(t *testing.T) {
	cfg := loadStack(t, "sandbox")
	cfg.Playground.Branch = "play/login"
	rec, err := pulumimock.Run("play-login", func(ctx *pulumi.Context) error { return Deploy(ctx, cfg) })
	require.NoError(t, err)
	_, err = rec.One(k8sDaemonSet, "edge")
	assert.Error(t, err, "a playground stack must not run a second edge on the same nodes")
}
