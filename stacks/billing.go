package stacks

import (
	"fmt"
	"regexp"
)

// BillingConfig says which GKE stacks bill to the same Cloud Billing account. GKE's free-tier
// credit (one zonal cluster's management fee per month) is per billing account, not per cluster:
// counted in every stack, sandbox and prod would each claim the whole credit and their estimates
// would understate the bill by one cluster's fee.
type BillingConfig struct {
	Billing Billing `config:"billing"`
}

// Billing is the stack's share of its billing account.
type Billing struct {
	// SharedWith names the other stacks of this repository whose GKE clusters bill to the same
	// account (their Pulumi.<stack>.yaml files); `shoestring cost --all` checks that they list this
	// stack back.
	SharedWith []string `json:"sharedWith"`
	// OtherClusters counts zonal or Autopilot clusters billed to the same account that no stack
	// here manages.
	OtherClusters int `json:"otherClusters"`
}

// ClustersOnAccount is the number of clusters sharing the account's free-tier credit, this one
// included.
func (b *Billing) ClustersOnAccount() int { return 1 + len(b.SharedWith) + b.OtherClusters }

func (c *BillingConfig) defaults() { c.Billing = Billing{} }

// stackNameRe is what Pulumi accepts as a stack name.
var stackNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

func (c *BillingConfig) checkAndFillDefaults(*Config) []FieldError {
	const k = Namespace + ":billing"
	var errs []FieldError
	seen := map[string]bool{}
	for i, s := range c.Billing.SharedWith {
		key := fmt.Sprintf("%s.sharedWith[%d]", k, i)
		switch {
		case !stackNameRe.MatchString(s):
			errs = append(errs, fieldErr(key, s, "is not a stack name",
				"name another stack of this repository whose cluster bills to the same account, e.g. \"prod\""))
		case seen[s]:
			errs = append(errs, fieldErr(key, s, "is listed twice", "name each stack once"))
		}
		seen[s] = true
	}
	if c.Billing.OtherClusters < 0 || c.Billing.OtherClusters > 1000 {
		errs = append(errs, fieldErr(k+".otherClusters", c.Billing.OtherClusters, "is out of range",
			"count the zonal or Autopilot clusters on the same billing account that no stack here manages (0 or more)"))
	}
	return errs
}
