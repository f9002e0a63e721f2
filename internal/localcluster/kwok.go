package localcluster

import (
	"context"
	"embed"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// stages are kwok's Stage configs (see stages/README.md for their origin).
//
//go:embed stages/*.yaml
var stages embed.FS

// KwokNodeAnnotation marks the Nodes kwok manages; Nodes without it are left alone (tests create
// bare Nodes and set their conditions themselves).
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// SimulateLabel on a pod with the value "fail" makes kwok end it in phase Failed (exit code 1),
// so tests can simulate a failing Job: add it to the Job's pod template labels.
const SimulateLabel = "shoestring.dev/simulate"

var getOpts = metav1.GetOptions{}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func (c *Cluster) clientset() (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(c.RESTConfig())
}

// kwokConfig joins the embedded Stage files into one multi-document config file.
func kwokConfig() ([]byte, error) {
	entries, err := stages.ReadDir("stages")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		data, err := stages.ReadFile("stages/" + n)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(data)
		if !strings.HasSuffix(string(data), "\n") {
			b.WriteString("\n")
		}
	}
	return []byte(b.String()), nil
}

// KwokStorageClass is the default StorageClass on a kwok cluster; kwok binds its claims.
const KwokStorageClass = "kwok-volume"

func ptr[T any](v T) *T { return &v }

// KwokNodeName is the name of simulated node i.
func KwokNodeName(i int) string { return fmt.Sprintf("kwok-node-%d", i) }

func (c *Cluster) startKwok(ctx context.Context) error {
	cfg, err := kwokConfig()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(c.dir, "kwok.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return err
	}
	p, err := c.launch("kwok", []string{
		"--config", cfgPath,
		"--kubeconfig", c.KubeconfigPath(),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector", KwokNodeAnnotation + "=fake",
		"--cidr", "10.244.0.0/16",
		"--node-ip", "10.255.0.1",
	})
	if err != nil {
		return err
	}
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	// The default StorageClass, served by kwok's volume stages: PersistentVolumeClaims (a
	// StatefulSet's volumeClaimTemplates) bind as they would to GKE's default class.
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name: KwokStorageClass,
			// With real nodes, LocalStorageClass is the default: their pods need folders that exist.
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": strconv.FormatBool(c.opts.RealNodes == 0)},
		},
		Provisioner:       "kwok.x-k8s.io/volume",
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingImmediate),
	}
	if _, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating StorageClass %s: %w", KwokStorageClass, err)
	}
	for i := 0; i < c.opts.KwokNodes; i++ {
		if err := createKwokNode(ctx, cs, i); err != nil {
			return err
		}
	}
	return c.waitFor(ctx, p, fmt.Sprintf("kwok to mark %d simulated nodes Ready", c.opts.KwokNodes), 60*time.Second, func() bool {
		for i := 0; i < c.opts.KwokNodes; i++ {
			n, err := cs.CoreV1().Nodes().Get(ctx, KwokNodeName(i), getOpts)
			if err != nil || !nodeReady(n) {
				return false
			}
		}
		return true
	})
}

// createKwokNode registers a simulated node. Its addresses mimic a GKE node's (an internal and an
// external IP; the external one from TEST-NET-2, which is never routed), so what reads node
// addresses (the edge, DNS sync) sees the shape it will see on GKE.
func createKwokNode(ctx context.Context, cs *kubernetes.Clientset, i int) error {
	name := KwokNodeName(i)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
			Annotations: map[string]string{
				KwokNodeAnnotation:             "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
		},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating simulated node %s: %w", name, err)
	}
	patch := fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":"10.255.0.%d"},{"type":"ExternalIP","address":"198.51.100.%d"},{"type":"Hostname","address":%q}]}}`, i+1, i+1, name)
	if _, err := cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("setting addresses of simulated node %s: %w", name, err)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
