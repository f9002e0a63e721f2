package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/stacks"
)

// serveTimeout is how long `up` on the local cluster waits for its URLs to answer.
const serveTimeout = time.Minute

// checkServing fetches every route of a stack deployed to the local cluster with real nodes,
// through the 127.0.0.1 forward to the edge, and prints each answer. When one does not answer in
// time it says which hop fails (the pods behind it, the edge, the cluster DNS) and errs. A stack
// on another cluster, or a local cluster without real nodes, is not checked ("" and nil).
func checkServing(ctx context.Context, cfg *stacks.Config, out io.Writer) error {
	if cfg.Cluster.Mode != stacks.ClusterModeExisting || cfg.Cluster.Existing.Kubeconfig == "" {
		return nil
	}
	dir := filepath.Dir(cfg.Cluster.Existing.Kubeconfig)
	st, err := localcluster.ReadState(dir)
	if err != nil || st.EdgePort == 0 {
		return nil
	}
	type target struct{ url, host, path, service string }
	var targets []target
	for _, s := range cfg.Services {
		for _, r := range s.Routes {
			path := r.PathPrefix
			if path == "" {
				path = "/"
			}
			shown := "http://" + r.Host
			if st.EdgePort != 80 {
				shown += fmt.Sprintf(":%d", st.EdgePort)
			}
			targets = append(targets, target{url: shown + path, host: r.Host, path: path, service: s.Name})
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, t := range targets {
		deadline := time.Now().Add(serveTimeout)
		var last string
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", st.EdgePort, t.path), nil)
			req.Host = t.host
			resp, err := client.Do(req)
			if err == nil {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
				resp.Body.Close()
				if resp.StatusCode < 500 {
					fmt.Fprintf(out, "%s answers %d (%s, through the edge, kube-proxy and CoreDNS):\n  %s\n", t.url, resp.StatusCode, t.service, strings.TrimSpace(string(body)))
					break
				}
				last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
			} else {
				last = err.Error()
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s did not answer within %s (last: %s)\n%s", t.url, serveTimeout, last, diagnose(ctx, dir, cfg, t.service))
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// diagnose names the first hop that fails between the host and the service's pods.
func diagnose(ctx context.Context, dir string, cfg *stacks.Config, service string) string {
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return "the cluster's kubeconfig: " + err.Error()
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	check := func(ns, selector, what string) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			fmt.Fprintf(&b, "%s: listing pods: %v\n", what, err)
			return
		}
		ready := 0
		for _, p := range pods.Items {
			if podReady(&p) {
				ready++
				continue
			}
			fmt.Fprintf(&b, "%s: pod %s/%s on %s is not ready (%s)\n", what, p.Namespace, p.Name, p.Spec.NodeName, podWaiting(&p))
			evs, _ := cs.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
			sort.Slice(evs.Items, func(i, j int) bool { return evs.Items[i].LastTimestamp.Before(&evs.Items[j].LastTimestamp) })
			for i := max(0, len(evs.Items)-3); i < len(evs.Items); i++ {
				e := evs.Items[i]
				fmt.Fprintf(&b, "    %s %s: %s\n", e.Type, e.Reason, e.Message)
			}
		}
		if ready == 0 {
			fmt.Fprintf(&b, "%s: no ready pod (selector %s in %s)\n", what, selector, ns)
		}
	}
	check(cfg.Namespace, "app.kubernetes.io/name="+service+",app.kubernetes.io/component=server", "the service "+service)
	check(cfg.Edge.Namespace, "app.kubernetes.io/name=edge-nginx", "the edge")
	if st, err := localcluster.ReadState(dir); err == nil && st.Net != nil {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, net.JoinHostPort(st.Net.NodeIP(0), "53"))
		}}
		name := fmt.Sprintf("%s.%s.svc.cluster.local", service, cfg.Namespace)
		if addrs, err := r.LookupHost(ctx, name); err != nil {
			fmt.Fprintf(&b, "the cluster DNS: %s does not resolve: %v\n", name, err)
		} else {
			fmt.Fprintf(&b, "the cluster DNS: %s is %s\n", name, strings.Join(addrs, ", "))
		}
	}
	if b.Len() == 0 {
		return "every pod is ready and the DNS answers: look at the edge's config (`make edge-conf STACK=dev`) and its log (kubectl -n edge logs ds/edge-nginx)"
	}
	return strings.TrimRight(b.String(), "\n")
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podWaiting is why a pod's containers wait or stopped, e.g. "ErrImageNeverPull: ..." (with the
// make target that builds a missing local image).
func podWaiting(p *corev1.Pod) string {
	var out []string
	for _, s := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		switch {
		case s.State.Waiting != nil && s.State.Waiting.Reason != "":
			msg := s.State.Waiting.Reason + ": " + s.State.Waiting.Message
			if s.State.Waiting.Reason == "ErrImageNeverPull" {
				msg += " (build the local images with `make images`)"
			}
			out = append(out, s.Name+" "+msg)
		case s.State.Terminated != nil && s.State.Terminated.ExitCode != 0:
			out = append(out, fmt.Sprintf("%s exited %d: %s", s.Name, s.State.Terminated.ExitCode, s.State.Terminated.Reason))
		}
	}
	if len(out) == 0 {
		return string(p.Status.Phase)
	}
	return strings.Join(out, "; ")
}
