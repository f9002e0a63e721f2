package dnssync

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
)

const token = "cf-token-value-1234567890"

func testArgs(replicas int) *Args {
	return &Args{
		Namespace: "dns-sync", Image: "ghcr.io/shoestring-dev/dnssync:1.0.0", Replicas: replicas,
		Name: "k.example.com", Zone: "023e105f4ecef8ad9ca31a8372d0c353", ZoneID: "023e105f4ecef8ad9ca31a8372d0c353",
		TTL: 120, OwnerID: "prod", Resync: "10m",
		Token:      pulumi.ToSecret(pulumi.String(token)).(pulumi.StringOutput),
		CPURequest: "5m", MemoryRequest: "24Mi", MemoryLimit: "48Mi", GoMemLimit: "20MiB",
		Aliases: []string{"www.example.com"},
	}
}

func deploy(t *testing.T, args *Args) *pulumimock.Record {
	t.Helper()
	rec, err := pulumimock.Run("test", func(ctx *pulumi.Context) error {
		_, err := New(ctx, "dnssync", args)
		return err
	})
	require.NoError(t, err)
	return rec
}

func get(t *testing.T, rec *pulumimock.Record, typ, name string) pulumimock.Resource {
	t.Helper()
	r, err := rec.One(typ, name)
	require.NoError(t, err)
	return r
}

func TestRBACIsExactlyNodesReadAndLeasesWhenReplicated(t *testing.T) {
	rec := deploy(t, testArgs(1))
	cr := get(t, rec, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "dnssync").Plain()
	assert.Equal(t, []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"nodes"},
		"verbs": []any{"get", "list", "watch"}}}, cr["rules"])
	assert.Empty(t, rec.ByType("kubernetes:rbac.authorization.k8s.io/v1:Role"), "one replica needs no Lease")
	assert.Empty(t, rec.ByType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"))
	dep := get(t, rec, "kubernetes:apps/v1:Deployment", "dnssync").Plain()
	assert.Contains(t, flagsOf(dep), "--leader-elect=false")
	assert.Equal(t, "Recreate", dep["spec"].(map[string]any)["strategy"].(map[string]any)["type"])

	rec = deploy(t, testArgs(2))
	role := get(t, rec, "kubernetes:rbac.authorization.k8s.io/v1:Role", "dnssync-leases").Plain()
	assert.Equal(t, []any{map[string]any{"apiGroups": []any{"coordination.k8s.io"}, "resources": []any{"leases"},
		"verbs": []any{"get", "create", "update"}}}, role["rules"])
	rb := get(t, rec, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "dnssync-leases").Plain()
	assert.Equal(t, []any{map[string]any{"kind": "ServiceAccount", "name": "dnssync", "namespace": "dns-sync"}}, rb["subjects"])
	crb := get(t, rec, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "dnssync").Plain()
	assert.Equal(t, ClusterRole, crb["roleRef"].(map[string]any)["name"])
	assert.Contains(t, flagsOf(get(t, rec, "kubernetes:apps/v1:Deployment", "dnssync").Plain()), "--leader-elect=true")
}

func flagsOf(dep map[string]any) []any {
	c := dep["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0]
	return c.(map[string]any)["args"].([]any)
}

// containsToken reports whether the token appears anywhere in a property value, secret or not.
func containsToken(v resource.PropertyValue) bool {
	switch {
	case v.IsSecret():
		return containsToken(v.SecretValue().Element)
	case v.IsString():
		return strings.Contains(v.StringValue(), token)
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			if containsToken(e) {
				return true
			}
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			if containsToken(e) {
				return true
			}
		}
	case v.IsOutput():
		return containsToken(v.OutputValue().Element)
	}
	return false
}

func TestTokenOnlyInTheSecretAndMarkedSecret(t *testing.T) {
	rec := deploy(t, testArgs(2))
	for _, r := range rec.Resources {
		has := containsToken(resource.NewObjectProperty(r.Inputs))
		switch {
		case r.Type == "kubernetes:core/v1:Secret":
			assert.True(t, has, "the Secret holds the token")
			assert.True(t, pulumimock.IsSecret(r.Inputs, "stringData.token"), "stringData.token is a Pulumi secret")
		case r.Type == "pulumi:providers:cloudflare":
			assert.True(t, pulumimock.IsSecret(r.Inputs, "apiToken"), "the provider's token is a Pulumi secret")
		default:
			assert.False(t, has, "%s %s carries the token", r.Type, r.Name)
		}
	}
	// The container reads the token from the mounted Secret, never from a flag.
	dep := get(t, rec, "kubernetes:apps/v1:Deployment", "dnssync").Plain()
	for _, f := range flagsOf(dep) {
		assert.NotContains(t, f, token)
	}
	assert.Contains(t, flagsOf(dep), "--token-file=/var/run/secrets/cloudflare/token")
}

func TestEveryObjectNamedExplicitlyAndRestricted(t *testing.T) {
	rec := deploy(t, testArgs(2))
	for _, r := range rec.Resources {
		if !strings.HasPrefix(r.Type, "kubernetes:") {
			continue
		}
		md, _ := r.Plain()["metadata"].(map[string]any)
		require.NotNil(t, md, "%s %s has metadata", r.Type, r.Name)
		assert.NotEmpty(t, md["name"], "%s %s is named", r.Type, r.Name)
		namespaced := !strings.Contains(r.Type, "ClusterRole") && !strings.HasSuffix(r.Type, ":Namespace")
		if namespaced {
			assert.Equal(t, "dns-sync", md["namespace"], "%s %s namespace", r.Type, r.Name)
		}
	}
	ns := get(t, rec, "kubernetes:core/v1:Namespace", "dnssync").Plain()
	assert.Equal(t, "restricted", ns["metadata"].(map[string]any)["labels"].(map[string]any)["pod-security.kubernetes.io/enforce"])

	pod := get(t, rec, "kubernetes:apps/v1:Deployment", "dnssync").Plain()["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	sc := c["securityContext"].(map[string]any)
	assert.Equal(t, false, sc["allowPrivilegeEscalation"])
	assert.Equal(t, true, sc["readOnlyRootFilesystem"])
	assert.Equal(t, true, sc["runAsNonRoot"])
	assert.Equal(t, []any{"ALL"}, sc["capabilities"].(map[string]any)["drop"])
	assert.Equal(t, "RuntimeDefault", sc["seccompProfile"].(map[string]any)["type"])
	assert.Equal(t, map[string]any{"cpu": "5m", "memory": "24Mi"}, c["resources"].(map[string]any)["requests"])
	assert.Equal(t, "dnssync", pod["serviceAccountName"])
}

func TestAliasesAreCNAMEsToTheName(t *testing.T) {
	rec := deploy(t, testArgs(1))
	r := get(t, rec, "cloudflare:index/record:Record", "dnssync-alias-www.example.com").Plain()
	assert.Equal(t, "CNAME", r["type"])
	assert.Equal(t, "www.example.com", r["name"])
	assert.Equal(t, "k.example.com", r["content"])
	assert.Equal(t, "023e105f4ecef8ad9ca31a8372d0c353", r["zoneId"])

	a := testArgs(1)
	a.Aliases = nil
	rec = deploy(t, a)
	assert.Empty(t, rec.ByType("cloudflare:index/record:Record"))
	assert.Empty(t, rec.ByType("pulumi:providers:cloudflare"), "no aliases, no Cloudflare provider")
}

// secretFileAccess is how the kubelet lays out a Secret volume's files (pkg/volume/secret and
// volume_linux.go SetVolumeOwnership): owned by root, mode defaultMode; with the pod's fsGroup the
// group becomes fsGroup and, the volume being read-only, group read (0440) is added.
func secretFileAccess(pod map[string]any, volume string) (gid int, mode int) {
	for _, v := range pod["volumes"].([]any) {
		v := v.(map[string]any)
		if v["name"] != volume {
			continue
		}
		mode = 0o644 // the API's default defaultMode
		if m, ok := v["secret"].(map[string]any)["defaultMode"].(float64); ok {
			mode = int(m)
		}
	}
	if fs, ok := pod["securityContext"].(map[string]any)["fsGroup"].(float64); ok {
		return int(fs), mode | 0o440
	}
	return 0, mode
}

// processCanRead is the kernel's check for a root-owned file: the group bits apply when the
// file's group is the process's group or one of its supplementary groups (fsGroup is one).
func processCanRead(pod map[string]any, c map[string]any, fileGID, mode int) bool {
	psc := pod["securityContext"].(map[string]any)
	uid, gid := psc["runAsUser"], psc["runAsGroup"]
	if csc, ok := c["securityContext"].(map[string]any); ok {
		if u, ok := csc["runAsUser"]; ok {
			uid = u
		}
		if g, ok := csc["runAsGroup"]; ok {
			gid = g
		}
	}
	if uid == float64(0) {
		return true
	}
	groups := map[int]bool{}
	if g, ok := gid.(float64); ok {
		groups[int(g)] = true
	}
	if fs, ok := psc["fsGroup"].(float64); ok {
		groups[int(fs)] = true
	}
	if groups[fileGID] {
		return mode&0o040 != 0
	}
	return mode&0o004 != 0
}

func TestTheNonRootControllerCanReadItsTokenFile(t *testing.T) {
	dep := get(t, deploy(t, testArgs(1)), "kubernetes:apps/v1:Deployment", "dnssync").Plain()
	pod := dep["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	var volume string
	for _, m := range c["volumeMounts"].([]any) {
		if m.(map[string]any)["mountPath"] == tokenDir {
			volume = m.(map[string]any)["name"].(string)
		}
	}
	require.NotEmpty(t, volume, "the token directory is a mounted volume")
	gid, mode := secretFileAccess(pod, volume)
	assert.True(t, processCanRead(pod, c, gid, mode), "the token file (gid %d, mode %o) is readable by the pod's user", gid, mode)
	assert.Zero(t, mode&0o007, "the token file is not readable by every user of the node (mode %o)", mode)
}
