package stacks

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
)

func checkWritablePaths(key string, paths []string) []FieldError {
	var errs []FieldError
	seen := map[string]bool{}
	for j, p := range paths {
		k := fmt.Sprintf("%s[%d]", key, j)
		if problem := absPathProblem(p); problem != "" {
			errs = append(errs, fieldErr(k, p, problem, "give an absolute folder the app writes to, e.g. \"/tmp\""))
		} else if seen[p] {
			errs = append(errs, fieldErr(k, p, "is listed twice", "list each folder once"))
		}
		seen[p] = true
	}
	return errs
}

// checkHardening checks disruptionBudget, spread and autoscaling and fills their defaults.
func (s *Service) checkHardening(key string) []FieldError {
	var errs []FieldError
	replicas := *s.Replicas
	what := fmt.Sprintf("replicas (%d)", replicas)
	if a := s.Autoscaling; a != nil {
		k := key + ".autoscaling"
		if a.MinReplicas == 0 {
			a.MinReplicas = 1
		}
		if a.TargetCPUUtilization == 0 {
			a.TargetCPUUtilization = 80
		}
		if a.MinReplicas < 1 {
			errs = append(errs, fieldErr(k+".minReplicas", a.MinReplicas, "is less than 1", "use 1 or more (default 1)"))
		}
		if a.MaxReplicas < max(a.MinReplicas, 1) {
			errs = append(errs, fieldErr(k+".maxReplicas", a.MaxReplicas, fmt.Sprintf("is less than minReplicas (%d) or missing", a.MinReplicas), "give the most replicas the autoscaler may run, at least minReplicas"))
		} else if a.MaxReplicas > MaxReplicas {
			errs = append(errs, fieldErr(k+".maxReplicas", a.MaxReplicas, "is more than this program allows", fmt.Sprintf("use at most %d, the bound of replicas", MaxReplicas)))
		}
		if a.TargetCPUUtilization < 1 || a.TargetCPUUtilization > 100 {
			errs = append(errs, fieldErr(k+".targetCPUUtilization", a.TargetCPUUtilization, "is not a percentage of the CPU request", "use 1-100 (default 80)"))
		}
		if s.Resources.Requests.CPU == "" {
			errs = append(errs, fieldErr(key+".resources.requests.cpu", nil, "is required with autoscaling: utilisation is a percentage of the request", "set a CPU request, e.g. \"100m\""))
		}
		replicas, what = a.MinReplicas, fmt.Sprintf("autoscaling.minReplicas (%d)", a.MinReplicas)
	}
	if b := s.DisruptionBudget; b != nil {
		k := key + ".disruptionBudget"
		switch {
		case (b.MinAvailable == nil) == (b.MaxUnavailable == nil):
			errs = append(errs, fieldErr(k, nil, "needs exactly one of minAvailable and maxUnavailable", "give e.g. maxUnavailable: 1"))
		case b.MinAvailable != nil && *b.MinAvailable < 0:
			errs = append(errs, fieldErr(k+".minAvailable", *b.MinAvailable, "is negative", fmt.Sprintf("use 0 to %d, less than %s", max(replicas-1, 0), what)))
		case b.MinAvailable != nil && *b.MinAvailable >= replicas:
			errs = append(errs, fieldErr(k+".minAvailable", *b.MinAvailable, fmt.Sprintf("is not less than %s: no pod could ever be evicted, so no node could be drained", what),
				fmt.Sprintf("use at most %d, or maxUnavailable: 1", max(replicas-1, 0))))
		case b.MaxUnavailable != nil && *b.MaxUnavailable < 1:
			errs = append(errs, fieldErr(k+".maxUnavailable", *b.MaxUnavailable, "is less than 1: no pod could ever be evicted, so no node could be drained", "use 1 or more"))
		}
	}
	if sp := s.Spread; sp != nil {
		k := key + ".spread"
		if sp.TopologyKey == "" {
			sp.TopologyKey = "kubernetes.io/hostname"
		}
		if errs2 := validation.IsQualifiedName(sp.TopologyKey); len(errs2) > 0 {
			errs = append(errs, fieldErr(k+".topologyKey", sp.TopologyKey, "is not a node label key", "use e.g. \"kubernetes.io/hostname\" (the default) or \"topology.kubernetes.io/zone\""))
		}
		if sp.MaxSkew == 0 {
			sp.MaxSkew = 1
		}
		if sp.MaxSkew < 1 {
			errs = append(errs, fieldErr(k+".maxSkew", sp.MaxSkew, "is less than 1", "use 1 (the default) or more"))
		}
		if sp.WhenUnsatisfiable == "" {
			sp.WhenUnsatisfiable = ScheduleAnyway
		}
		if sp.WhenUnsatisfiable != ScheduleAnyway && sp.WhenUnsatisfiable != DoNotSchedule {
			errs = append(errs, fieldErr(k+".whenUnsatisfiable", sp.WhenUnsatisfiable, "is not a topology spread policy", oneOf(ScheduleAnyway, DoNotSchedule)))
		}
	}
	return errs
}
