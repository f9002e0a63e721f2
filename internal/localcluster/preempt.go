package localcluster

import (
	"context"
	"fmt"
	"path"
	"syscall"
	"time"
)

// PreemptRealNode does to real node i what reclaiming a Spot VM does to its workloads: its kubelet
// is killed and every container on it with it, so nothing reports for the Node any more and its
// pods stop answering; the node-lifecycle controller marks it NotReady after its grace period,
// as on GKE. containerd, kube-proxy and the cluster DNS stay up: they are the local cluster's
// plumbing, not what a drill tests. ResumeRealNode brings the node back.
func (c *Cluster) PreemptRealNode(i int) error {
	if err := c.checkRealNode(i); err != nil {
		return err
	}
	name := fmt.Sprintf("kubelet-n%d", i)
	c.mu.Lock()
	var kept []*proc
	var kubelet *proc
	for _, p := range c.procs {
		if p.name == name {
			kubelet = p
		} else {
			kept = append(kept, p)
		}
	}
	c.procs = kept
	c.mu.Unlock()
	if kubelet == nil {
		return fmt.Errorf("localcluster: %s's kubelet is not running", RealNodeName(i))
	}
	if err := syscall.Kill(kubelet.pid(), syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing %s's kubelet: %w", RealNodeName(i), err)
	}
	kubelet.stop(5 * time.Second) // reaps it
	// The pods' cgroups are under the node's kubepods (cgroupsPerQOS); the shims stay in system.
	if err := killCgroup(path.Join(c.cgroupRoot(i), "kubepods")); err != nil {
		return err
	}
	return c.saveState()
}

// ResumeRealNode starts real node i's kubelet again after PreemptRealNode and waits until the
// Node is Ready; the kubelet then restarts the node's pods.
func (c *Cluster) ResumeRealNode(ctx context.Context, i int) error {
	if err := c.checkRealNode(i); err != nil {
		return err
	}
	return c.startKubelet(ctx, i)
}

func (c *Cluster) checkRealNode(i int) error {
	if i < 0 || i >= c.opts.RealNodes {
		return fmt.Errorf("localcluster: no real node %d (the cluster has %d)", i, c.opts.RealNodes)
	}
	return nil
}
