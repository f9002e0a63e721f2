package program_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
)

// devModeOnRealNode turns dev mode on for the api with a key made for the test, runs `up`, and
// reaches the SSH/SFTP sidecar the way the stack's devMode output tells developers to: a port
// forward through the API server to the pod, then ssh and sftp to 127.0.0.1.
func devModeOnRealNode(ctx context.Context, t *testing.T, l *lifecycle, client *kubernetes.Clientset, cluster *localcluster.Cluster, ns string) {
	dir := t.TempDir()
	keygen := func(name string) (string, string) {
		key := filepath.Join(dir, name)
		out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@shoestring", "-f", key).CombinedOutput()
		require.NoError(t, err, "%s", out)
		pub, err := os.ReadFile(key + ".pub")
		require.NoError(t, err)
		return key, strings.TrimSpace(string(pub))
	}
	key, pub := keygen("e2e")
	otherKey, otherPub := keygen("other")
	dm := l.config()["shoestring:devMode"].(map[string]any)
	// "other" is a developer of the stack, but not of the api's sidecar.
	dm["services"] = []any{map[string]any{"name": "api", "developers": []any{"e2e"}}}
	dm["authorizedKeys"] = map[string]any{"e2e": pub, "other": otherPub}
	_, err := l.open(ctx, nil).Up(ctx)
	require.NoError(t, err)

	var pod corev1.Pod
	for _, p := range podsOf(ctx, t, client, ns, "app.kubernetes.io/name=api,app.kubernetes.io/component=server") {
		for _, c := range p.Spec.InitContainers {
			if c.Name == "dev-sftp" && p.DeletionTimestamp == nil {
				pod = p
			}
		}
	}
	require.NotEmpty(t, pod.Name, "the api's pod has the dev-mode sidecar after up")
	port := forwardPort(ctx, t, cluster, client, ns, pod.Name, 2222)

	// The sidecar's host key is made at its start: nothing to pin it against.
	clientOpts := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}
	ssh := func(user string, extra ...string) (string, error) {
		args := append(append([]string{"-p", fmt.Sprint(port)}, clientOpts...), extra...)
		args = append(args, user+"@127.0.0.1", "id -u; ls /app/bin; test -w /app/bin/console && echo code-writable; echo world-writable=$(find /app -mindepth 1 -perm -o+w | wc -l)")
		b, err := exec.CommandContext(ctx, "ssh", args...).CombinedOutput()
		return string(b), err
	}
	t.Run("ssh with the developer's key reaches the sidecar and its code mount", func(t *testing.T) {
		out, err := ssh("dev", "-i", key)
		require.NoError(t, err, "%s", out)
		assert.Contains(t, out, "1000\n", "the sidecar runs as the developer's uid")
		assert.Contains(t, out, "console", "the app image's code, copied into the shared mount")
		assert.Contains(t, out, "code-writable", "the developer may change the copied code (through the pod's shared group)")
		assert.Contains(t, out, "world-writable=0\n", "no copied file is writable by every user")
	})
	t.Run("sftp writes into the code mount", func(t *testing.T) {
		args := append(append([]string{"-P", fmt.Sprint(port)}, clientOpts...), "-i", key, "-b", "-", "dev@127.0.0.1")
		cmd := exec.CommandContext(ctx, "sftp", args...)
		cmd.Stdin = strings.NewReader("put " + key + ".pub /app/uploaded.pub\nls /app\n")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "/app/uploaded.pub")
	})
	t.Run("a developer the service does not name is refused", func(t *testing.T) {
		out, err := ssh("dev", "-i", otherKey)
		require.Error(t, err)
		assert.Contains(t, out, "Permission denied")
	})
	t.Run("password login and root login are refused", func(t *testing.T) {
		out, err := ssh("dev", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive")
		require.Error(t, err)
		assert.Contains(t, out, "Permission denied (publickey)", "only keys are offered")
		out, err = ssh("root", "-i", key)
		require.Error(t, err)
		assert.Contains(t, out, "Permission denied")
	})
}

// forwardPort forwards a free local port to the pod's port through the API server and the
// kubelet, as `kubectl port-forward` does; it is closed when the test ends.
func forwardPort(ctx context.Context, t *testing.T, cluster *localcluster.Cluster, client *kubernetes.Clientset, ns, pod string, port int) uint16 {
	t.Helper()
	transport, upgrader, err := spdy.RoundTripperFor(cluster.RESTConfig())
	require.NoError(t, err)
	url := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, testLog{t})
	require.NoError(t, err)
	failed := make(chan error, 1)
	go func() { failed <- fw.ForwardPorts() }()
	t.Cleanup(func() { close(stop) })
	select {
	case <-ready:
	case err := <-failed:
		t.Fatalf("port-forward to %s/%s:%d: %v", ns, pod, port, err)
	case <-ctx.Done():
		t.Fatalf("port-forward to %s/%s:%d never became ready", ns, pod, port)
	}
	ports, err := fw.GetPorts()
	require.NoError(t, err)
	return ports[0].Local
}
