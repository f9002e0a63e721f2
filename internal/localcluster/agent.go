package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The agent does beside a cluster with real nodes what a cloud does beside GKE: it provisions
// the volumes claims ask for (a folder on the node, as a local PersistentVolume, so the kubelet
// applies the pod's fsGroup) and opens the host's door to the edge (a TCP forward from
// 127.0.0.1 to port 80 of a Ready real node, the part a load balancer or DNS plays on GKE).

// LocalStorageClass is the default StorageClass when the cluster has real nodes.
const LocalStorageClass = "shoestring-local"

const (
	localProvisioner = "shoestring.dev/local-volume"
	selectedNodeAnn  = "volume.kubernetes.io/selected-node"
	volumesDir       = "volumes"
)

// AgentOptions configure RunAgent.
type AgentOptions struct {
	Dir      string // the cluster's state folder
	EdgePort int    // 127.0.0.1 port forwarded to the real nodes' port 80
	Log      io.Writer
}

// RunAgent serves until ctx ends. `shoestring cluster agent` runs it as a detached process of
// a detached cluster; an in-process cluster (tests) runs it as goroutines.
func RunAgent(ctx context.Context, o AgentOptions) error {
	st, err := ReadState(o.Dir)
	if err != nil {
		return err
	}
	if st.Net == nil {
		return errors.New("the cluster has no real node: nothing for the agent to do")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(o.Dir, "kubeconfig"))
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.EdgePort)))
	if err != nil {
		return fmt.Errorf("the edge forward cannot listen on 127.0.0.1:%d: %w", o.EdgePort, err)
	}
	var nodes []string
	for i := 0; i < st.RealNodes; i++ {
		nodes = append(nodes, st.Net.NodeIP(i))
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, time.Now().Format(time.RFC3339)+" agent: "+format+"\n", args...)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); forwardEdge(ctx, l, nodes, logf) }()
	go func() { defer wg.Done(); provisionVolumes(ctx, cs, filepath.Join(o.Dir, volumesDir), logf) }()
	<-ctx.Done()
	l.Close()
	wg.Wait()
	return nil
}

// forwardEdge copies each connection to port 80 of the first real node that accepts it, so a
// stopped node (the preemption drill) is skipped.
func forwardEdge(ctx context.Context, l net.Listener, nodes []string, logf func(string, ...any)) {
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			var out net.Conn
			for _, ip := range nodes {
				d := net.Dialer{Timeout: 2 * time.Second}
				if out, err = d.DialContext(ctx, "tcp", net.JoinHostPort(ip, "80")); err == nil {
					break
				}
			}
			if out == nil {
				logf("edge forward: no real node accepts on port 80: %v", err)
				return
			}
			defer out.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(out, in); closeWrite(out); done <- struct{}{} }()
			go func() { _, _ = io.Copy(in, out); closeWrite(in); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// provisionVolumes makes a local PersistentVolume for every claim of LocalStorageClass once the
// scheduler has picked its node, and removes the volume and its folder when the claim is gone.
func provisionVolumes(ctx context.Context, cs kubernetes.Interface, dir string, logf func(string, ...any)) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := provisionOnce(ctx, cs, dir, logf); err != nil && ctx.Err() == nil {
			logf("volumes: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func provisionOnce(ctx context.Context, cs kubernetes.Interface, dir string, logf func(string, ...any)) error {
	claims, err := cs.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, c := range claims.Items {
		node := c.Annotations[selectedNodeAnn]
		if c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != LocalStorageClass || c.Spec.VolumeName != "" || node == "" || c.DeletionTimestamp != nil {
			continue
		}
		name := "local-" + string(c.UID)
		path := filepath.Join(dir, string(c.UID))
		if err := os.MkdirAll(path, 0o777); err != nil {
			return err
		}
		// The pod's fsGroup gets the folder when the kubelet mounts it; until then anyone may write.
		if err := os.Chmod(path, 0o777); err != nil {
			return err
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": localProvisioner}},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: c.Spec.Resources.Requests[corev1.ResourceStorage]},
				AccessModes:                   c.Spec.AccessModes,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              LocalStorageClass,
				ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: c.Namespace, Name: c.Name, UID: c.UID},
				PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
				}}}},
			},
		}
		if pv.Spec.Capacity[corev1.ResourceStorage] == (resource.Quantity{}) {
			pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("1Gi")
		}
		if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("volume for claim %s/%s: %w", c.Namespace, c.Name, err)
		}
		logf("volume %s for claim %s/%s on %s", path, c.Namespace, c.Name, node)
	}
	pvs, err := cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, pv := range pvs.Items {
		if pv.Annotations["pv.kubernetes.io/provisioned-by"] != localProvisioner || pv.Status.Phase != corev1.VolumeReleased {
			continue
		}
		if err := cs.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if pv.Spec.Local != nil {
			_ = os.RemoveAll(pv.Spec.Local.Path)
		}
		logf("volume %s released and removed", pv.Name)
	}
	return nil
}

// localStorageClass is the default class with real nodes: the scheduler picks the node first,
// then the agent provisions there.
func localStorageClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        LocalStorageClass,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       localProvisioner,
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer),
	}
}

// edgePort is 80 when it is free on 127.0.0.1, else a free port.
func edgePort() (int, error) {
	if l, err := net.Listen("tcp", "127.0.0.1:80"); err == nil {
		l.Close()
		return 80, nil
	}
	return freePort()
}
