package localcluster

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
)

// How clients reach the cluster: its admin kubeconfig and REST configuration.

// KubeconfigPath is an admin kubeconfig for the cluster (Dir/kubeconfig).
func (c *Cluster) KubeconfigPath() string {
	if c.reused != nil {
		return c.reusedPath
	}
	return filepath.Join(c.dir, "kubeconfig")
}

// Dir is the cluster's state folder.
func (c *Cluster) Dir() string { return c.dir }

// RESTConfig is an admin client configuration for the cluster.
func (c *Cluster) RESTConfig() *rest.Config {
	if c.reused != nil {
		return rest.CopyConfig(c.reused)
	}
	return &rest.Config{
		Host:            c.state.APIServerURL,
		BearerToken:     c.pki.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.pki.caPEM},
		QPS:             100,
		Burst:           200,
	}
}

func (c *Cluster) writeKubeconfig() error {
	return os.WriteFile(c.KubeconfigPath(), []byte(Kubeconfig(c.state.APIServerURL, c.pki.caPEM, c.pki.adminToken)), 0o600)
}

// Kubeconfig is an admin kubeconfig for server, trusting ca and authenticating with token.
func Kubeconfig(server string, caPEM []byte, token string) string {
	ca := base64Std(caPEM)
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: shoestring-local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: shoestring-local
  context:
    cluster: shoestring-local
    user: %s
current-context: shoestring-local
`, server, ca, adminUser, token, adminUser)
}
