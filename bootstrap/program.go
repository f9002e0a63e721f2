package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/artifactregistry"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/iam"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/kms"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/organizations"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/stacks"
)

// APIs are the services the stacks, their CI and this program call. cloudresourcemanager serves
// the project IAM bindings; serviceusage (on in every new project) is what enables the others.
var APIs = []string{
	"artifactregistry.googleapis.com",     // the image registry
	"cloudkms.googleapis.com",             // the stacks' secrets provider
	"cloudresourcemanager.googleapis.com", // project IAM bindings
	"compute.googleapis.com",              // nodes, firewall, the nodes' default service account
	"container.googleapis.com",            // GKE
	"iam.googleapis.com",                  // service accounts, workload identity pools
	"iamcredentials.googleapis.com",       // short-lived tokens for the CI account
	"serviceusage.googleapis.com",         // enabling the others
	"storage.googleapis.com",              // the state bucket
	"sts.googleapis.com",                  // exchanging GitHub's OIDC token
}

// ProjectRoles are the CI account's roles on the project, each with what needs it (docs/gcp.md).
var ProjectRoles = map[string]string{
	// Create, update and delete the zonal cluster and its node pool, and every Kubernetes object
	// the program applies, including the DNS-sync ClusterRole and bindings (container.developer
	// cannot write RBAC objects). A preview needs the same Kubernetes verbs: the kubernetes
	// provider's server-side dry run is authorized like the change itself.
	"roles/container.admin": "GKE cluster, node pool and every Kubernetes object, RBAC included",
	// The firewall rule opening tcp 80/443 to the nodes' nginx.
	"roles/compute.securityAdmin": "the nodes' firewall rule",
}

// GitHub's OIDC issuer for Actions tokens.
const githubIssuer = "https://token.actions.githubusercontent.com"

// Variables are the repository variables the workflows in .github/workflows read (TestVariables
// keeps this list equal to theirs), in the order they are printed.
var Variables = []string{
	"GCP_WORKLOAD_IDENTITY_PROVIDER", "GCP_SERVICE_ACCOUNT", "GCP_PROD_SERVICE_ACCOUNT",
	"PULUMI_BACKEND_URL", "PULUMI_SECRETS_PROVIDER",
	"IMAGE_REGISTRY", "IMAGE_REGISTRY_HOST",
	"SANDBOX_CLUSTER", "SANDBOX_ZONE",
}

// Stacks are the main program's stacks that get a GKE cluster: each is initialized with the KMS
// secrets provider.
var Stacks = []string{"sandbox", "prod"}

// Outputs are what the stack prints.
type Outputs struct {
	// RepositoryVariables maps each name in Variables to its value.
	RepositoryVariables pulumi.StringMap
	// SetVariables is one `gh variable set` command per variable.
	SetVariables pulumi.StringOutput
	// InitStacks are the commands that make each main stack use the KMS key and this project.
	InitStacks pulumi.StringOutput
}

func (o *Outputs) export(ctx *pulumi.Context) {
	ctx.Export("repositoryVariables", o.RepositoryVariables)
	ctx.Export("setVariables", o.SetVariables)
	ctx.Export("initStacks", o.InitStacks)
}

func deploy(ctx *pulumi.Context, c *Config) (*Outputs, error) {
	project := pulumi.String(c.Project)
	region := c.Region()

	// 1. The APIs. Destroying this stack leaves them on: clusters may still use them.
	api := map[string]pulumi.Resource{}
	for _, s := range APIs {
		svc, err := projects.NewService(ctx, "api-"+strings.TrimSuffix(s, ".googleapis.com"), &projects.ServiceArgs{
			Project: project, Service: pulumi.String(s), DisableOnDestroy: pulumi.Bool(false),
		})
		if err != nil {
			return nil, err
		}
		api[s] = svc
	}
	needs := func(apis ...string) pulumi.ResourceOption {
		var rs []pulumi.Resource
		for _, a := range apis {
			rs = append(rs, api[a+".googleapis.com"])
		}
		return pulumi.DependsOn(rs)
	}

	// 2. The Pulumi state bucket: versioned (a bad write can be rolled back), private, in the
	// clusters' region. Protected: deleting it would lose every stack's state.
	bucket, err := storage.NewBucket(ctx, "state", &storage.BucketArgs{
		Project:                  project,
		Name:                     pulumi.String(c.Project + "-" + c.Name + "-state"),
		Location:                 pulumi.String(strings.ToUpper(region)),
		StorageClass:             pulumi.String("STANDARD"),
		UniformBucketLevelAccess: pulumi.Bool(true),
		PublicAccessPrevention:   pulumi.String("enforced"),
		Versioning:               &storage.BucketVersioningArgs{Enabled: pulumi.Bool(true)},
		// Old versions of a state file are kept for 30 days after they are replaced.
		LifecycleRules: storage.BucketLifecycleRuleArray{&storage.BucketLifecycleRuleArgs{
			Action:    &storage.BucketLifecycleRuleActionArgs{Type: pulumi.String("Delete")},
			Condition: &storage.BucketLifecycleRuleConditionArgs{DaysSinceNoncurrentTime: pulumi.Int(30), WithState: pulumi.String("ARCHIVED")},
		}},
		ForceDestroy: pulumi.Bool(false),
	}, needs("storage"), pulumi.Protect(true))
	if err != nil {
		return nil, err
	}

	// 3. The key that encrypts each stack's data key (the stack files' encryptedkey). Protected:
	// without it no stack's secrets can be read. No automatic rotation: each key version costs
	// 0.06 USD/month and every old version must stay enabled to decrypt the stacks made with it.
	ring, err := kms.NewKeyRing(ctx, "secrets", &kms.KeyRingArgs{
		Project: project, Name: pulumi.String(c.Name), Location: pulumi.String(region),
	}, needs("cloudkms"))
	if err != nil {
		return nil, err
	}
	key, err := kms.NewCryptoKey(ctx, "pulumi-secrets", &kms.CryptoKeyArgs{
		KeyRing: ring.ID(), Name: pulumi.String("pulumi-secrets"), Purpose: pulumi.String("ENCRYPT_DECRYPT"),
	}, pulumi.Protect(true))
	if err != nil {
		return nil, err
	}

	// 4. The image registry. Cleanup keeps the 10 newest versions of each image and deletes others
	// older than 30 days, so storage stays within the free 0.5 GB for long.
	registry, err := artifactregistry.NewRepository(ctx, "images", &artifactregistry.RepositoryArgs{
		Project: project, Location: pulumi.String(region), RepositoryId: pulumi.String(c.Name),
		Format: pulumi.String("DOCKER"), Description: pulumi.String("shoestring images, tagged with the commit"),
		CleanupPolicyDryRun: pulumi.Bool(false),
		CleanupPolicies: artifactregistry.RepositoryCleanupPolicyArray{
			&artifactregistry.RepositoryCleanupPolicyArgs{
				Id: pulumi.String("keep-newest-10"), Action: pulumi.String("KEEP"),
				MostRecentVersions: &artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs{KeepCount: pulumi.Int(10)},
			},
			&artifactregistry.RepositoryCleanupPolicyArgs{
				Id: pulumi.String("delete-older-than-30d"), Action: pulumi.String("DELETE"),
				Condition: &artifactregistry.RepositoryCleanupPolicyConditionArgs{TagState: pulumi.String("ANY"), OlderThan: pulumi.String("2592000s")},
			},
		},
	}, needs("artifactregistry"))
	if err != nil {
		return nil, err
	}

	// 5. Two CI service accounts (docs/gcp.md says why each role): "ci" for previews, the sandbox,
	// playgrounds and images, which pull requests' code may run as; "ci-prod" for prod's up only,
	// which only the prod environment's jobs on main may impersonate (step 6). Each decrypts the
	// secrets of its own stacks only: prod's stack has a key of its own.
	number := organizations.LookupProjectOutput(ctx, organizations.LookupProjectOutputArgs{ProjectId: project}).Number()
	prodKey, err := kms.NewCryptoKey(ctx, "pulumi-secrets-prod", &kms.CryptoKeyArgs{
		KeyRing: ring.ID(), Name: pulumi.String("pulumi-secrets-prod"), Purpose: pulumi.String("ENCRYPT_DECRYPT"),
	}, pulumi.Protect(true))
	if err != nil {
		return nil, err
	}
	account := func(id, what string, stackKey *kms.CryptoKey) (*serviceaccount.Account, error) {
		sa, err := serviceaccount.NewAccount(ctx, id, &serviceaccount.AccountArgs{
			Project: project, AccountId: pulumi.String(c.Name + "-" + id),
			DisplayName: pulumi.String("shoestring " + id + " (" + c.Repository + ")"),
			Description: pulumi.String("GitHub Actions of " + c.Repository + " through workload identity federation: " + what),
		}, needs("iam"))
		if err != nil {
			return nil, err
		}
		member := pulumi.Sprintf("serviceAccount:%s", sa.Email)
		for _, role := range sortedKeys(ProjectRoles) {
			if _, err := projects.NewIAMMember(ctx, id+"-"+strings.TrimPrefix(role, "roles/"), &projects.IAMMemberArgs{
				Project: project, Role: pulumi.String(role), Member: member,
			}, needs("cloudresourcemanager", "container", "compute")); err != nil {
				return nil, err
			}
		}
		// Node pools run as the Compute Engine default service account: creating one needs actAs
		// on that account only, not on every account of the project.
		if _, err := serviceaccount.NewIAMMember(ctx, id+"-acts-as-nodes", &serviceaccount.IAMMemberArgs{
			ServiceAccountId: pulumi.Sprintf("projects/%s/serviceAccounts/%s-compute@developer.gserviceaccount.com", c.Project, number),
			Role:             pulumi.String("roles/iam.serviceAccountUser"), Member: member,
		}, needs("compute", "iam")); err != nil {
			return nil, err
		}
		if _, err := storage.NewBucketIAMMember(ctx, id+"-state", &storage.BucketIAMMemberArgs{
			Bucket: bucket.Name, Role: pulumi.String("roles/storage.objectUser"), Member: member,
		}); err != nil {
			return nil, err
		}
		// Encrypt too: the playground workflow creates stacks, which wraps a new data key.
		if _, err := kms.NewCryptoKeyIAMMember(ctx, id+"-secrets", &kms.CryptoKeyIAMMemberArgs{
			CryptoKeyId: stackKey.ID(), Role: pulumi.String("roles/cloudkms.cryptoKeyEncrypterDecrypter"), Member: member,
		}); err != nil {
			return nil, err
		}
		return sa, nil
	}
	ci, err := account("ci", "previews, sandbox, playgrounds, images", key)
	if err != nil {
		return nil, err
	}
	ciProd, err := account("ci-prod", "prod's up, from the prod environment on main", prodKey)
	if err != nil {
		return nil, err
	}
	if _, err := artifactregistry.NewRepositoryIamMember(ctx, "ci-images", &artifactregistry.RepositoryIamMemberArgs{
		Project: project, Location: registry.Location, Repository: registry.Name,
		Role: pulumi.String("roles/artifactregistry.writer"), Member: pulumi.Sprintf("serviceAccount:%s", ci.Email),
	}); err != nil {
		return nil, err
	}

	// The nodes pull the images as the Compute Engine default service account: in projects where
	// that account has no automatic Editor grant (the organization policy of newer projects), it
	// needs read access to the registry, and only to it.
	if _, err := artifactregistry.NewRepositoryIamMember(ctx, "nodes-images", &artifactregistry.RepositoryIamMemberArgs{
		Project: project, Location: registry.Location, Repository: registry.Name,
		Role:   pulumi.String("roles/artifactregistry.reader"),
		Member: pulumi.Sprintf("serviceAccount:%s-compute@developer.gserviceaccount.com", number),
	}); err != nil {
		return nil, err
	}

	// 6. Workload identity federation: GitHub's OIDC tokens are accepted only from this
	// repository (the attribute condition), and only its principal set may impersonate the account.
	pool, err := iam.NewWorkloadIdentityPool(ctx, "github", &iam.WorkloadIdentityPoolArgs{
		Project: project, WorkloadIdentityPoolId: pulumi.String(c.Name + "-github"),
		DisplayName: pulumi.String("GitHub Actions"), Description: pulumi.String("GitHub Actions of " + c.Repository),
	}, needs("iam", "sts"))
	if err != nil {
		return nil, err
	}
	provider, err := iam.NewWorkloadIdentityPoolProvider(ctx, "github", &iam.WorkloadIdentityPoolProviderArgs{
		Project: project, WorkloadIdentityPoolId: pool.WorkloadIdentityPoolId,
		WorkloadIdentityPoolProviderId: pulumi.String("github"),
		DisplayName:                    pulumi.String("GitHub " + c.Repository),
		AttributeMapping: pulumi.StringMap{
			"google.subject":          pulumi.String("assertion.sub"),
			"attribute.repository":    pulumi.String("assertion.repository"),
			"attribute.repository_id": pulumi.String("assertion.repository_id"),
			"attribute.ref":           pulumi.String("assertion.ref"),
			"attribute.actor":         pulumi.String("assertion.actor"),
			"attribute.prod_deploy":   pulumi.String(ProdDeployMapping),
		},
		AttributeCondition: pulumi.String(AttributeCondition(c.Repository, c.RepositoryID)),
		Oidc:               &iam.WorkloadIdentityPoolProviderOidcArgs{IssuerUri: pulumi.String(githubIssuer)},
	})
	if err != nil {
		return nil, err
	}
	if _, err := serviceaccount.NewIAMMember(ctx, "ci-from-github", &serviceaccount.IAMMemberArgs{
		ServiceAccountId: ci.Name, Role: pulumi.String("roles/iam.workloadIdentityUser"),
		Member: pulumi.Sprintf("principalSet://iam.googleapis.com/%s/attribute.repository_id/%s", pool.Name, c.RepositoryID),
	}, needs("iamcredentials")); err != nil {
		return nil, err
	}
	if _, err := serviceaccount.NewIAMMember(ctx, "ci-prod-from-github", &serviceaccount.IAMMemberArgs{
		ServiceAccountId: ciProd.Name, Role: pulumi.String("roles/iam.workloadIdentityUser"),
		Member: pulumi.Sprintf("principalSet://iam.googleapis.com/%s/attribute.prod_deploy/true", pool.Name),
	}, needs("iamcredentials")); err != nil {
		return nil, err
	}

	// 7. What to set: the repository variables, and the main stacks' init and config commands.
	host := region + "-docker.pkg.dev"
	secretsProvider := pulumi.Sprintf("gcpkms://%s", key.ID())
	vars := map[string]pulumi.StringInput{
		"GCP_WORKLOAD_IDENTITY_PROVIDER": provider.Name,
		"GCP_SERVICE_ACCOUNT":            ci.Email,
		"GCP_PROD_SERVICE_ACCOUNT":       ciProd.Email,
		"PULUMI_BACKEND_URL":             pulumi.Sprintf("gs://%s", bucket.Name),
		"PULUMI_SECRETS_PROVIDER":        secretsProvider,
		"IMAGE_REGISTRY":                 pulumi.Sprintf("%s/%s/%s", host, c.Project, registry.Name),
		"IMAGE_REGISTRY_HOST":            pulumi.String(host),
		"SANDBOX_CLUSTER":                pulumi.String(c.SandboxCluster),
		"SANDBOX_ZONE":                   pulumi.String(c.Zone),
	}
	out := pulumi.StringMap{}
	var lines []pulumi.StringInput
	for _, name := range Variables {
		out[name] = vars[name]
		lines = append(lines, pulumi.Sprintf("gh variable set %s --repo %s --body '%s'", name, c.Repository, vars[name]))
	}

	stackProviders := map[string]pulumi.StringOutput{"sandbox": secretsProvider, "prod": pulumi.Sprintf("gcpkms://%s", prodKey.ID())}
	var init []pulumi.StringInput
	for _, s := range Stacks {
		init = append(init,
			pulumi.Sprintf("pulumi stack init %s --secrets-provider '%s'", s, stackProviders[s]),
			pulumi.String(fmt.Sprintf("pulumi config set --stack %s gcp:project %s", s, c.Project)),
			pulumi.String(fmt.Sprintf("pulumi config set --stack %s --path 'shoestring:cluster.gke.zone' %s", s, c.Zone)),
			pulumi.String(fmt.Sprintf("pulumi config set --stack %s --path 'shoestring:dns.zone' %s", s, c.CloudflareZone)),
			pulumi.String(fmt.Sprintf("pulumi config set --stack %s --path 'shoestring:dns.zoneId' %s", s, c.CloudflareZoneID)),
			// The key of the hashes that stand for secret values in pod annotations and Job names.
			pulumi.String(fmt.Sprintf("pulumi config set --stack %s --secret --path 'shoestring:secrets.%s.%s' \"$(openssl rand -hex 32)\"",
				s, stacks.ChecksumSecretGroup, stacks.ChecksumKeyName)),
		)
	}
	return &Outputs{RepositoryVariables: out, SetVariables: join(lines), InitStacks: join(init)}, nil
}

// AttributeCondition accepts GitHub tokens of one repository only, by its id (which a repository
// re-created under the same name does not get) and its name. Without a condition any repository
// on GitHub could exchange its tokens in this pool.
func AttributeCondition(repository, repositoryID string) string {
	return fmt.Sprintf("assertion.repository_id == '%s' && assertion.repository == '%s'", repositoryID, repository)
}

// ProdDeployMapping is "true" only for a job of the prod environment (its required reviewers
// approved it) on main: the only tokens that may impersonate the prod account. A pull request's
// preview job has no environment claim.
const ProdDeployMapping = "('environment' in assertion && assertion.environment == 'prod' && assertion.ref == 'refs/heads/main') ? 'true' : 'false'"

func join(lines []pulumi.StringInput) pulumi.StringOutput {
	var in []interface{}
	for _, l := range lines {
		in = append(in, l)
	}
	return pulumi.All(in...).ApplyT(func(vs []interface{}) string {
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = v.(string)
		}
		return strings.Join(s, "\n") + "\n"
	}).(pulumi.StringOutput)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
