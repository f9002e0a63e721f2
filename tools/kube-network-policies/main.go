// Command kube-network-policies is the local cluster's NetworkPolicy data plane on a real node:
// the controller of sigs.k8s.io/kube-network-policies, which queues the first packet of every
// connection to or from a pod that a policy selects and accepts or drops it in user space. The
// upstream command reads the in-cluster service-account files only; the local cluster runs this
// as a process in the node's network namespace, beside kubelet and kube-proxy, with the node's
// kubeconfig, so this main builds the same controller from a kubeconfig instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	os.Exit(run())
}

func run() int {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server (required)")
	nodeName := flag.String("hostname-override", "", "name of the Node whose pods this process guards (required)")
	queueID := flag.Int("nfqueue-id", 100, "number of the nfqueue the first packets are sent to")
	failOpen := flag.Bool("fail-open", false, "accept packets while this process is not reading the queue")
	// The conntrack race the workaround avoids is fixed in Linux 6.12; the default suits newer
	// kernels, older ones set it.
	bug1766 := flag.Bool("netfilter-bug-1766-fix", false, "queue DNS packets in PREROUTING, after DNAT (kernels before 6.12)")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *nodeName == "" {
		fmt.Fprintln(os.Stderr, "kube-network-policies: --kubeconfig and --hostname-override are required (the local cluster passes the node's kubeconfig and name)")
		return 2
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-network-policies: reading --kubeconfig %s: %v\n", *kubeconfig, err)
		return 1
	}
	cfg.UserAgent = "kube-network-policies/" + *nodeName
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-network-policies: %v\n", err)
		return 1
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	// NRI stays on: with no NRI socket (containerd 1.6 has none) its plugin only fails to
	// connect and its pod map stays empty, while switching it off leaves the plugin nil, which
	// the packet path still consults for an address the API server has no pod for.
	controller, err := networkpolicy.NewController(client,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil,
		networkpolicy.Config{
			FailOpen:            *failOpen,
			QueueID:             *queueID,
			NodeName:            *nodeName,
			NetfilterBug1766Fix: *bug1766,
		})
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-network-policies: creating the controller: %v\n", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx) }()
	factory.Start(ctx.Done())

	select {
	case err := <-done:
		// Run returns early only when it could not sync or open the queue.
		if ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "kube-network-policies: the controller stopped: %v\n", err)
			return 1
		}
	case <-ctx.Done():
		// Run deletes its nftables table on the way out; give it the time to.
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	factory.Shutdown()
	return 0
}
