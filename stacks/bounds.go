package stacks

// Upper bounds of counts and durations. This product runs on the cheapest cluster that works (a few
// small nodes): a value far above these is a typo (replicas: 100000) or belongs to another kind of
// cluster, and the apiserver or GCP would accept it and bill or schedule it anyway. Each bound is
// named in the message that refuses a value above it.
const (
	// MaxReplicas of a service or worker: 50 pods are more than MaxNodeCount e2-small nodes hold
	// (about 110 MB each for workloads after GKE's system pods) at the smallest requests.
	MaxReplicas = 50
	// MaxNodeCount of the GKE node pool: past 10 nodes a cluster is no longer the cheap one this
	// program makes (the estimate of `shoestring cost` grows linearly; the free tier covers none).
	MaxNodeCount = 10
	// MaxDNSSyncReplicas of the DNS-sync controller: one writes, the others only stand by for the
	// leader election, so a handful is plenty.
	MaxDNSSyncReplicas = 5
	// MaxJobsHistoryLimit of a CronJob (successful and failed): each kept Job keeps its pod and
	// logs in etcd; Kubernetes' defaults are 3 and 1.
	MaxJobsHistoryLimit = 10
	// MaxBackoffLimit of a CronJob's or release Job's retries: more retries of a failing command
	// only delay the failure (Kubernetes' default is 6).
	MaxBackoffLimit = 10
	// MaxDeadlineSeconds of a Job's activeDeadlineSeconds and a CronJob's startingDeadlineSeconds:
	// one day; a release Job or a scheduled run longer than that is not a job for this program.
	MaxDeadlineSeconds = 86400
)
