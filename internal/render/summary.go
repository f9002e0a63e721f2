package render

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"maps"
	"slices"
)

// Summary writes what a render runs where on the cluster: each workload with its ready count and
// the nodes its pods run on, then how to reach the Services and the host-network ports.
func Summary(ctx context.Context, cfg *rest.Config, order *Order, w io.Writer) error {
	cs, err := kubernetes.NewForConfig(withRate(cfg))
	if err != nil {
		return err
	}
	// owner name of each ReplicaSet -> its Deployment, to attribute pods.
	rsOwner := map[string]string{}
	podsByOwner := map[string][]corev1.Pod{} // "ns/Kind/name"
	namespaces := map[string]bool{}
	for _, o := range order.Objects {
		if o.Namespace != "" {
			namespaces[o.Namespace] = true
		}
	}
	for ns := range namespaces {
		rss, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, rs := range rss.Items {
			for _, ref := range rs.OwnerReferences {
				if ref.Kind == "Deployment" {
					rsOwner[ns+"/"+rs.Name] = ref.Name
				}
			}
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, ref := range p.OwnerReferences {
				kind, name := ref.Kind, ref.Name
				if kind == "ReplicaSet" {
					if d, ok := rsOwner[ns+"/"+name]; ok {
						kind, name = "Deployment", d
					}
				}
				key := ns + "/" + kind + "/" + name
				podsByOwner[key] = append(podsByOwner[key], p)
			}
		}
	}

	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tWORKLOAD\tREADY\tNODES")
	var hostPorts []string
	for _, o := range order.Objects {
		switch o.Kind {
		case "Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob":
		default:
			continue
		}
		ready := "-"
		switch o.Kind {
		case "Deployment":
			if d, err := cs.AppsV1().Deployments(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
				ready = fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, d.Status.Replicas)
			}
		case "StatefulSet":
			if s, err := cs.AppsV1().StatefulSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
				ready = fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, s.Status.Replicas)
			}
		case "DaemonSet":
			if d, err := cs.AppsV1().DaemonSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
				ready = fmt.Sprintf("%d/%d", d.Status.NumberReady, d.Status.DesiredNumberScheduled)
				if d.Spec.Template.Spec.HostNetwork {
					for _, c := range d.Spec.Template.Spec.Containers {
						for _, p := range c.Ports {
							if p.HostPort != 0 || p.ContainerPort != 0 {
								port := p.HostPort
								if port == 0 {
									port = p.ContainerPort
								}
								hostPorts = append(hostPorts, fmt.Sprintf("%s/%s %s port %d (%s)", o.Namespace, o.Name, strings.ToLower(string(protocol(p.Protocol))), port, p.Name))
							}
						}
					}
				}
			}
		case "Job":
			if j, err := cs.BatchV1().Jobs(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
				ready = fmt.Sprintf("%d succeeded", j.Status.Succeeded)
			}
		case "CronJob":
			if c, err := cs.BatchV1().CronJobs(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
				ready = "schedule " + c.Spec.Schedule
			}
		}
		nodes := map[string]bool{}
		for _, p := range podsByOwner[o.Namespace+"/"+o.Kind+"/"+o.Name] {
			if p.Spec.NodeName != "" {
				nodes[p.Spec.NodeName] = true
			}
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\n", o.Namespace, o.Kind, o.Name, ready, joinKeys(nodes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	var services []string
	for _, o := range order.Objects {
		if o.Kind != "Service" || o.APIVersion != "v1" {
			continue
		}
		svc, err := cs.CoreV1().Services(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		var ports []string
		for _, p := range svc.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%d", p.Port))
		}
		services = append(services, fmt.Sprintf("  %s.%s.svc.cluster.local (%s) port %s", o.Name, o.Namespace, svc.Spec.ClusterIP, strings.Join(ports, ",")))
	}
	if len(services) > 0 {
		fmt.Fprintln(w, "\nServices (in-cluster DNS names):")
		fmt.Fprintln(w, strings.Join(services, "\n"))
	}
	if len(hostPorts) > 0 {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var ips []string
		for _, n := range nodes.Items {
			for _, a := range n.Status.Addresses {
				if a.Type == corev1.NodeExternalIP {
					ips = append(ips, n.Name+"="+a.Address)
				}
			}
		}
		sort.Strings(ips)
		fmt.Fprintln(w, "\nOn every node's host network (reach it at a node's external IP):")
		for _, hp := range hostPorts {
			fmt.Fprintln(w, "  "+hp)
		}
		if len(ips) > 0 {
			fmt.Fprintf(w, "  node external IPs: %s\n", strings.Join(ips, " "))
		}
	}
	return nil
}

func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func joinKeys(m map[string]bool) string {
	if len(m) == 0 {
		return "-"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}
