package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

const projectNumber = "123456789012"

// registered is one resource as the mock engine saw it.
type registered struct {
	Type, Name string
	Protect    bool
	DependsOn  []string
	Inputs     map[string]any
}

// mocks stand in for the engine and the gcp provider: they record every resource and compute the
// outputs the program reads (ids, emails, names) the way GCP forms them.
type mocks struct {
	mu  sync.Mutex
	got []registered
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := registered{Type: args.TypeToken, Name: args.Name, Inputs: pulumimock.Plain(args.Inputs)}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Protect = rpc.GetProtect()
		r.DependsOn = rpc.GetDependencies()
	}
	m.mu.Lock()
	m.got = append(m.got, r)
	m.mu.Unlock()
	out := args.Inputs.Copy()
	in := func(k string) string { s, _ := r.Inputs[k].(string); return s }
	id := args.Name + "-id"
	set := func(k, v string) { out[resource.PropertyKey(k)] = resource.NewStringProperty(v) }
	switch args.TypeToken {
	case "gcp:kms/keyRing:KeyRing":
		id = "projects/" + in("project") + "/locations/" + in("location") + "/keyRings/" + in("name")
	case "gcp:kms/cryptoKey:CryptoKey":
		id = in("keyRing") + "/cryptoKeys/" + in("name")
	case "gcp:serviceaccount/account:Account":
		email := in("accountId") + "@" + in("project") + ".iam.gserviceaccount.com"
		set("email", email)
		set("name", "projects/"+in("project")+"/serviceAccounts/"+email)
	case "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
		set("name", "projects/"+projectNumber+"/locations/global/workloadIdentityPools/"+in("workloadIdentityPoolId"))
	case "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
		set("name", "projects/"+projectNumber+"/locations/global/workloadIdentityPools/"+in("workloadIdentityPoolId")+"/providers/"+in("workloadIdentityPoolProviderId"))
	case "gcp:artifactregistry/repository:Repository":
		set("name", in("repositoryId"))
	}
	return id, out, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "gcp:organizations/getProject:getProject" {
		return resource.PropertyMap{"number": resource.NewStringProperty(projectNumber)}, nil
	}
	return resource.PropertyMap{}, nil
}

func (m *mocks) byType(typ string) []registered {
	var out []registered
	for _, r := range m.got {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (m *mocks) one(t *testing.T, typ, name string) registered {
	t.Helper()
	for _, r := range m.got {
		if r.Type == typ && r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s named %q", typ, name)
	return registered{}
}

func validConfig() map[string]string {
	return map[string]string{
		Namespace + ":project":          "acme-shoestring",
		Namespace + ":repository":       "acme/shop",
		Namespace + ":repositoryId":     "700123456",
		Namespace + ":cloudflareZone":   "acme.example",
		Namespace + ":cloudflareZoneId": "5c3e2f0b8a9d4e61b7f0c2a4d6e8f013",
		Namespace + ":zone":             "us-central1-a",
		"gcp:project":                   "ignored-provider-key",
	}
}

type result struct {
	vars             map[string]string
	setVars, initCmd string
}

// evaluate runs the program with the mocks and the given config, as `pulumi preview` would.
func evaluate(t *testing.T, raw map[string]string) (*mocks, result, error) {
	t.Helper()
	m := &mocks{}
	var res result
	var wg sync.WaitGroup
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cfg, err := parse(raw)
		if err != nil {
			return err
		}
		out, err := deploy(ctx, cfg)
		if err != nil {
			return err
		}
		wg.Add(1)
		pulumi.All(out.RepositoryVariables.ToStringMapOutput(), out.SetVariables, out.InitStacks).ApplyT(func(vs []any) error {
			defer wg.Done()
			res = result{vars: vs[0].(map[string]string), setVars: vs[1].(string), initCmd: vs[2].(string)}
			return nil
		})
		return nil
	}, pulumi.WithMocks(Namespace, "bootstrap", m))
	if err == nil {
		wg.Wait()
	}
	return m, res, err
}

func TestBootstrapCreatesWhatTheStacksAndCINeed(t *testing.T) {
	m, _, err := evaluate(t, validConfig())
	require.NoError(t, err)

	var enabled []string
	for _, s := range m.byType("gcp:projects/service:Service") {
		assert.Equal(t, "acme-shoestring", s.Inputs["project"])
		assert.Equal(t, false, s.Inputs["disableOnDestroy"], "destroying bootstrap must not switch off APIs clusters use")
		enabled = append(enabled, s.Inputs["service"].(string))
	}
	for _, api := range []string{"container", "compute", "cloudkms", "artifactregistry", "iam", "iamcredentials", "sts", "storage", "cloudresourcemanager"} {
		assert.Contains(t, enabled, api+".googleapis.com")
	}

	bucket := m.one(t, "gcp:storage/bucket:Bucket", "state")
	assert.Equal(t, "acme-shoestring-shoestring-state", bucket.Inputs["name"])
	assert.Equal(t, "US-CENTRAL1", bucket.Inputs["location"])
	assert.Equal(t, map[string]any{"enabled": true}, bucket.Inputs["versioning"])
	assert.Equal(t, "enforced", bucket.Inputs["publicAccessPrevention"])
	assert.Equal(t, true, bucket.Inputs["uniformBucketLevelAccess"])
	assert.Equal(t, false, bucket.Inputs["forceDestroy"])
	assert.True(t, bucket.Protect, "the state bucket holds every stack's state")
	assert.NotEmpty(t, bucket.DependsOn, "created after the storage API is on")

	ring := m.one(t, "gcp:kms/keyRing:KeyRing", "secrets")
	assert.Equal(t, "us-central1", ring.Inputs["location"])
	key := m.one(t, "gcp:kms/cryptoKey:CryptoKey", "pulumi-secrets")
	assert.Equal(t, "ENCRYPT_DECRYPT", key.Inputs["purpose"])
	assert.Equal(t, "projects/acme-shoestring/locations/us-central1/keyRings/shoestring", key.Inputs["keyRing"])
	assert.True(t, key.Protect, "without the key no stack's secrets can be decrypted")

	repo := m.one(t, "gcp:artifactregistry/repository:Repository", "images")
	assert.Equal(t, "DOCKER", repo.Inputs["format"])
	assert.Equal(t, "us-central1", repo.Inputs["location"])
	assert.Equal(t, "shoestring", repo.Inputs["repositoryId"])

	sa := m.one(t, "gcp:serviceaccount/account:Account", "ci")
	assert.Equal(t, "shoestring-ci", sa.Inputs["accountId"])
}

func TestWorkloadIdentityIsBoundToTheRepositoryOnly(t *testing.T) {
	m, _, err := evaluate(t, validConfig())
	require.NoError(t, err)
	p := m.one(t, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "github")
	assert.Equal(t, "assertion.repository_id == '700123456' && assertion.repository == 'acme/shop'", p.Inputs["attributeCondition"],
		"pinned by id: a repository re-created under the name gets another id")
	assert.Equal(t, map[string]any{"issuerUri": "https://token.actions.githubusercontent.com"}, p.Inputs["oidc"])
	assert.Equal(t, "assertion.repository", p.Inputs["attributeMapping"].(map[string]any)["attribute.repository"])
	pool := m.one(t, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "github")
	assert.Equal(t, "shoestring-github", pool.Inputs["workloadIdentityPoolId"])
	assert.Equal(t, pool.Inputs["workloadIdentityPoolId"], p.Inputs["workloadIdentityPoolId"])

	// The only principal that may impersonate the CI account is the repository's principal set.
	imp := m.one(t, "gcp:serviceaccount/iAMMember:IAMMember", "ci-from-github")
	assert.Equal(t, "roles/iam.workloadIdentityUser", imp.Inputs["role"])
	assert.Equal(t, "projects/acme-shoestring/serviceAccounts/shoestring-ci@acme-shoestring.iam.gserviceaccount.com", imp.Inputs["serviceAccountId"])
	assert.Equal(t, "principalSet://iam.googleapis.com/projects/"+projectNumber+"/locations/global/workloadIdentityPools/shoestring-github/attribute.repository_id/700123456", imp.Inputs["member"])

	// The prod account: only tokens of the prod environment on main.
	prod := m.one(t, "gcp:serviceaccount/iAMMember:IAMMember", "ci-prod-from-github")
	assert.Equal(t, "projects/acme-shoestring/serviceAccounts/shoestring-ci-prod@acme-shoestring.iam.gserviceaccount.com", prod.Inputs["serviceAccountId"])
	assert.Equal(t, "principalSet://iam.googleapis.com/projects/"+projectNumber+"/locations/global/workloadIdentityPools/shoestring-github/attribute.prod_deploy/true", prod.Inputs["member"])
	assert.Equal(t, ProdDeployMapping, p.Inputs["attributeMapping"].(map[string]any)["attribute.prod_deploy"])
	for _, claim := range []string{"assertion.environment == 'prod'", "assertion.ref == 'refs/heads/main'"} {
		assert.Contains(t, ProdDeployMapping, claim)
	}
}

// Every role the CI account gets, on what: the test fails when one is added or widened without
// changing docs/gcp.md's table and this list.
func TestTheCIAccountGetsTheListedRolesOnly(t *testing.T) {
	m, _, err := evaluate(t, validConfig())
	require.NoError(t, err)
	const ci = "serviceAccount:shoestring-ci@acme-shoestring.iam.gserviceaccount.com"
	const ciProd = "serviceAccount:shoestring-ci-prod@acme-shoestring.iam.gserviceaccount.com"
	var got []string
	for _, typ := range []string{"gcp:projects/iAMMember:IAMMember", "gcp:serviceaccount/iAMMember:IAMMember", "gcp:storage/bucketIAMMember:BucketIAMMember",
		"gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"} {
		for _, r := range m.byType(typ) {
			if r.Name == "ci-from-github" || r.Name == "ci-prod-from-github" || r.Name == "nodes-images" {
				continue
			}
			who := "ci"
			if r.Inputs["member"] == ciProd {
				who = "ci-prod"
			} else {
				assert.Equal(t, ci, r.Inputs["member"], r.Name)
			}
			on := ""
			for _, k := range []string{"repository", "bucket", "cryptoKeyId", "serviceAccountId", "project"} {
				if v, ok := r.Inputs[k].(string); ok && on == "" {
					on = v
				}
			}
			got = append(got, who+": "+r.Inputs["role"].(string)+" on "+on)
		}
	}
	sort.Strings(got)
	assert.Equal(t, []string{
		"ci-prod: roles/cloudkms.cryptoKeyEncrypterDecrypter on projects/acme-shoestring/locations/us-central1/keyRings/shoestring/cryptoKeys/pulumi-secrets-prod",
		"ci-prod: roles/compute.securityAdmin on acme-shoestring",
		"ci-prod: roles/container.admin on acme-shoestring",
		"ci-prod: roles/iam.serviceAccountUser on projects/acme-shoestring/serviceAccounts/" + projectNumber + "-compute@developer.gserviceaccount.com",
		"ci-prod: roles/storage.objectUser on acme-shoestring-shoestring-state",
		"ci: roles/artifactregistry.writer on shoestring",
		"ci: roles/cloudkms.cryptoKeyEncrypterDecrypter on projects/acme-shoestring/locations/us-central1/keyRings/shoestring/cryptoKeys/pulumi-secrets",
		"ci: roles/compute.securityAdmin on acme-shoestring",
		"ci: roles/container.admin on acme-shoestring",
		"ci: roles/iam.serviceAccountUser on projects/acme-shoestring/serviceAccounts/" + projectNumber + "-compute@developer.gserviceaccount.com",
		"ci: roles/storage.objectUser on acme-shoestring-shoestring-state",
	}, got, "the account pull requests run as cannot decrypt prod's secrets")
	doc, err := os.ReadFile(filepath.Join("..", "docs", "gcp.md"))
	require.NoError(t, err)
	for _, g := range got {
		_, g, _ = strings.Cut(g, ": ")
		role, _, _ := strings.Cut(g, " on ")
		assert.Contains(t, string(doc), "`"+role+"`", "docs/gcp.md says why the CI account has %s", role)
	}
}

func TestItPrintsExactlyTheVariablesTheWorkflowsRead(t *testing.T) {
	_, res, err := evaluate(t, validConfig())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"GCP_WORKLOAD_IDENTITY_PROVIDER": "projects/" + projectNumber + "/locations/global/workloadIdentityPools/shoestring-github/providers/github",
		"GCP_SERVICE_ACCOUNT":            "shoestring-ci@acme-shoestring.iam.gserviceaccount.com",
		"GCP_PROD_SERVICE_ACCOUNT":       "shoestring-ci-prod@acme-shoestring.iam.gserviceaccount.com",
		"PULUMI_BACKEND_URL":             "gs://acme-shoestring-shoestring-state",
		"PULUMI_SECRETS_PROVIDER":        "gcpkms://projects/acme-shoestring/locations/us-central1/keyRings/shoestring/cryptoKeys/pulumi-secrets",
		"IMAGE_REGISTRY":                 "us-central1-docker.pkg.dev/acme-shoestring/shoestring",
		"IMAGE_REGISTRY_HOST":            "us-central1-docker.pkg.dev",
		"SANDBOX_CLUSTER":                "shoestring-sandbox",
		"SANDBOX_ZONE":                   "us-central1-a",
	}, res.vars)
	assert.Contains(t, res.setVars, "gh variable set PULUMI_BACKEND_URL --repo acme/shop --body 'gs://acme-shoestring-shoestring-state'\n")
	assert.Equal(t, len(Variables), strings.Count(res.setVars, "gh variable set "))
	assert.Contains(t, res.initCmd, "pulumi stack init sandbox --secrets-provider 'gcpkms://projects/acme-shoestring/locations/us-central1/keyRings/shoestring/cryptoKeys/pulumi-secrets'\n")
	assert.Contains(t, res.initCmd, "pulumi stack init prod --secrets-provider 'gcpkms://projects/acme-shoestring/locations/us-central1/keyRings/shoestring/cryptoKeys/pulumi-secrets-prod'\n")
	for _, s := range []string{"sandbox", "prod"} {
		assert.Contains(t, res.initCmd, "pulumi config set --stack "+s+" gcp:project acme-shoestring\n")
		assert.Contains(t, res.initCmd, "pulumi config set --stack "+s+" --path 'shoestring:dns.zone' acme.example\n")
		assert.Contains(t, res.initCmd, "pulumi config set --stack "+s+" --path 'shoestring:dns.zoneId' 5c3e2f0b8a9d4e61b7f0c2a4d6e8f013\n")
		assert.Contains(t, res.initCmd, "pulumi config set --stack "+s+" --secret --path 'shoestring:secrets.checksum.HMAC_KEY' \"$(openssl rand -hex 32)\"\n")
	}

	// The workflows' side: every vars.X they read, except those they test for being empty
	// (optional), is one of ours, and we print nothing they do not read.
	files, err := filepath.Glob(filepath.Join("..", ".github", "workflows", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	read, optional := map[string]bool{}, map[string]bool{}
	use := regexp.MustCompile(`vars\.([A-Z0-9_]+)`)
	opt := regexp.MustCompile(`vars\.([A-Z0-9_]+)\s*!=\s*''`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, mm := range use.FindAllStringSubmatch(string(b), -1) {
			read[mm[1]] = true
		}
		for _, mm := range opt.FindAllStringSubmatch(string(b), -1) {
			optional[mm[1]] = true
		}
	}
	var want []string
	for v := range read {
		if !optional[v] {
			want = append(want, v)
		}
	}
	sort.Strings(want)
	printed := append([]string(nil), Variables...)
	sort.Strings(printed)
	assert.Equal(t, want, printed, "bootstrap prints exactly the repository variables the workflows require")
}

func TestTheDefaultSandboxClusterIsTheShippedSandboxStacks(t *testing.T) {
	cfg, err := stacks.LoadStackFile(filepath.Join("..", "Pulumi.sandbox.yaml"))
	require.NoError(t, err)
	c, err := parse(validConfig())
	require.NoError(t, err)
	assert.Equal(t, cfg.Cluster.GKE.Name, c.SandboxCluster)
}

func TestTheNamespaceIsTheProjectName(t *testing.T) {
	b, err := os.ReadFile("Pulumi.yaml")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^name: `+regexp.QuoteMeta(Namespace)+`$`, string(b))
}

func TestBadInputIsRefusedAtPreviewWithKeyValueAndFix(t *testing.T) {
	for _, tc := range []struct {
		name, key, value string
		want             []string
	}{
		{"repository without owner", "repository", "shop", []string{`shoestring-bootstrap:repository: "shop" is not owner/name; write the GitHub repository as owner/name, e.g. "acme/shop"`}},
		{"repository with three parts", "repository", "acme/shop/x", []string{`"acme/shop/x" is not owner/name`}},
		{"repository as a URL", "repository", "https://github.com/acme/shop.git", []string{`shoestring-bootstrap:repository: "https://github.com/acme/shop.git" is a URL, not owner/name; write "acme/shop"`}},
		{"repository bad owner", "repository", "-acme/shop", []string{`has an invalid owner "-acme"`, `e.g. "acme/shop"`}},
		{"repository bad name", "repository", "acme/sh op", []string{`has an invalid name "sh op"`}},
		{"repository missing", "repository", "", []string{"shoestring-bootstrap:repository: is required; set it with `pulumi config set repository <owner>/<name>`"}},
		{"project uppercase", "project", "Acme-Shoestring", []string{`shoestring-bootstrap:project: "Acme-Shoestring" is not a valid GCP project ID; give the project ID (6-30 lowercase letters`, "`gcloud projects list`"}},
		{"project too short", "project", "acme", []string{`"acme" is not a valid GCP project ID`}},
		{"project number", "project", "123456789012", []string{`"123456789012" is a project number, not a project ID`}},
		{"project with google", "project", "my-google-proj", []string{`may not contain "google"`}},
		{"project ending in hyphen", "project", "acme-shoe-", []string{`"acme-shoe-" is not a valid GCP project ID`}},
		{"zone that is a region", "zone", "us-central1", []string{`shoestring-bootstrap:zone: "us-central1" is a region`, `e.g. "us-central1-a"`}},
		{"zone that is no zone", "zone", "moon-base", []string{`"moon-base" is not a GCP zone`}},
		{"cloudflare zone with scheme", "cloudflareZone", "https://acme.example", []string{`shoestring-bootstrap:cloudflareZone: "https://acme.example" is not a domain name; give the Cloudflare zone's domain name`}},
		{"cloudflare zone single label", "cloudflareZone", "localhost", []string{`"localhost" is not a domain name`}},
		{"cloudflare zone id missing", "cloudflareZoneId", "", []string{"shoestring-bootstrap:cloudflareZoneId: is required; set it with `pulumi config set cloudflareZoneId <the zone's id, 32 hex digits>`"}},
		{"cloudflare zone id of the documentation", "cloudflareZoneId", stacks.ExampleZoneID, []string{`shoestring-bootstrap:cloudflareZoneId: "` + stacks.ExampleZoneID + `" is the example zone id of Cloudflare's documentation, not your zone's; copy the zone's id`}},
		{"cloudflare zone id not hex", "cloudflareZoneId", "acme.example", []string{`shoestring-bootstrap:cloudflareZoneId: "acme.example" is not a Cloudflare zone id`}},
		{"unknown key", "repo", "acme/shop", []string{`shoestring-bootstrap:repo: is not a bootstrap setting; use one of shoestring-bootstrap:cloudflareZone`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := validConfig()
			if tc.value == "" {
				delete(raw, Namespace+":"+tc.key)
			} else {
				raw[Namespace+":"+tc.key] = tc.value
			}
			// Through the engine's config, as `pulumi preview` hands it over.
			js, err := json.Marshal(raw)
			require.NoError(t, err)
			t.Setenv("PULUMI_CONFIG", string(js))
			m := &mocks{}
			err = pulumi.RunErr(run, pulumi.WithMocks(Namespace, "bootstrap", m))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, m.got, "nothing is created from invalid input")
		})
	}
}

// A region the price table does not cover deploys like any other: the estimate is what it lacks.
func TestAZoneOutsideThePriceTableIsAWarningNotAnError(t *testing.T) {
	raw := validConfig()
	raw[Namespace+":zone"] = "southamerica-east1-b"
	c, err := parse(raw)
	require.NoError(t, err)
	w := c.Warnings()
	require.Len(t, w, 1)
	assert.Equal(t, Namespace+":zone", w[0].Key)
	assert.Contains(t, w[0].Problem, "region southamerica-east1, which the price table does not cover: everything deploys")
	m, _, err := evaluate(t, raw)
	require.NoError(t, err)
	assert.Equal(t, "southamerica-east1", m.one(t, "gcp:kms/keyRing:KeyRing", "secrets").Inputs["location"])
	c, err = parse(validConfig())
	require.NoError(t, err)
	assert.Empty(t, c.Warnings())
}

// The nodes (the Compute Engine default account) may read the registry's images, nothing more.
func TestTheNodesMayPullFromTheRegistry(t *testing.T) {
	m, _, err := evaluate(t, validConfig())
	require.NoError(t, err)
	r := m.one(t, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "nodes-images")
	assert.Equal(t, "roles/artifactregistry.reader", r.Inputs["role"])
	assert.Equal(t, "serviceAccount:"+projectNumber+"-compute@developer.gserviceaccount.com", r.Inputs["member"])
	assert.Equal(t, "shoestring", r.Inputs["repository"])
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	_, err := parse(map[string]string{Namespace + ":repository": "shop", Namespace + ":zone": "asia-east1"})
	require.Error(t, err)
	for _, k := range []string{"project", "repository", "repositoryId", "cloudflareZone", "cloudflareZoneId", "zone"} {
		assert.Contains(t, err.Error(), Namespace+":"+k+":")
	}
	assert.Contains(t, err.Error(), "(6 problems)")
}

func TestAValidConfigurationRunsThroughTheEngineConfig(t *testing.T) {
	t.Setenv("PULUMI_CONFIG", `{"shoestring-bootstrap:project":"acme-shoestring","shoestring-bootstrap:repository":"acme/shop","shoestring-bootstrap:repositoryId":"700123456","shoestring-bootstrap:cloudflareZone":"acme.example","shoestring-bootstrap:cloudflareZoneId":"5c3e2f0b8a9d4e61b7f0c2a4d6e8f013","shoestring-bootstrap:zone":"us-central1-c","shoestring-bootstrap:name":"team2"}`)
	m := &mocks{}
	require.NoError(t, pulumi.RunErr(run, pulumi.WithMocks(Namespace, "bootstrap", m)))
	assert.Equal(t, "team2-ci", m.one(t, "gcp:serviceaccount/account:Account", "ci").Inputs["accountId"])
	assert.Equal(t, "team2-github", m.one(t, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool", "github").Inputs["workloadIdentityPoolId"])
}
