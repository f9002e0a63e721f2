package service

import (
	"testing"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChecksum(t *testing.T) {
	a := Checksum(map[string]string{"A": "1", "B": "2"})
	assert.Equal(t, a, Checksum(map[string]string{"B": "2", "A": "1"}), "order of keys does not matter")
	assert.NotEqual(t, a, Checksum(map[string]string{"A": "1", "B": "3"}), "a value change changes it")
	assert.NotEqual(t, a, Checksum(map[string]string{"A": "1"}), "a removed key changes it")
	// Keys and values are length-prefixed: moving text between them is a change.
	assert.NotEqual(t, Checksum(map[string]string{"a": "b=c"}), Checksum(map[string]string{"a=b": "c"}))
	assert.NotEqual(t, Checksum(map[string]string{"a": "b\nc=d"}), Checksum(map[string]string{"a": "b", "c": "d"}))
}

func TestTemplateChecksumFollowsEveryReference(t *testing.T) {
	refs := []ConfigRef{{Kind: "ConfigMap", Name: "common-config", Checksum: "1"}, {Kind: "Secret", Name: "api-secrets", Checksum: "2"}}
	base := TemplateChecksum(refs)
	changed := append([]ConfigRef{}, refs...)
	changed[1].Checksum = "3"
	assert.NotEqual(t, base, TemplateChecksum(changed))
	assert.NotEqual(t, base, TemplateChecksum(refs[:1]), "dropping a reference changes it")
	assert.Equal(t, base, TemplateChecksum(append([]ConfigRef{}, refs...)))
}

func TestPodSpecRestrictedAndExtensions(t *testing.T) {
	uid := 10001
	o := PodOptions{
		EnvFrom:      []ConfigRef{{Kind: "ConfigMap", Name: "common-config"}, {Kind: "Secret", Name: "api-secrets"}},
		WaitFor:      []Endpoint{{Name: "mysql", Host: "mysql", Port: 3306}},
		WaitForImage: "busybox:1.37",
		Security:     Security{Restricted: true, RunAsUser: &uid},
		// What dev mode and playgrounds add.
		InitContainers:  []corev1.ContainerArgs{{Name: pulumi.String("copy-code")}},
		Sidecars:        []corev1.ContainerArgs{{Name: pulumi.String("sftp")}},
		Volumes:         []corev1.VolumeArgs{{Name: pulumi.String("code"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}},
		AppVolumeMounts: []corev1.VolumeMountArgs{{Name: pulumi.String("code"), MountPath: pulumi.String("/app")}},
		DNSConfig:       &corev1.PodDNSConfigArgs{Searches: pulumi.ToStringArray([]string{"apps.svc.cluster.local"})},
	}
	spec := PodSpec("app", Container{Image: "acme/api:1.0.0", Command: []string{"serve"}, Env: map[string]string{"B": "2", "A": "1"}}, o)

	psc := spec.SecurityContext.(*corev1.PodSecurityContextArgs)
	assert.Equal(t, pulumi.Bool(true), psc.RunAsNonRoot)
	assert.Equal(t, pulumi.String("RuntimeDefault"), psc.SeccompProfile.(*corev1.SeccompProfileArgs).Type)
	assert.Equal(t, pulumi.Int(10001), psc.RunAsUser)

	inits := spec.InitContainers.(corev1.ContainerArray)
	require.Len(t, inits, 2, "wait-for first, then the added init containers")
	wait := inits[0].(corev1.ContainerArgs)
	assert.Equal(t, pulumi.String("wait-for-mysql"), wait.Name)
	assert.Equal(t, pulumi.Int(65534), wait.SecurityContext.(*corev1.SecurityContextArgs).RunAsUser, "busybox runs as nobody")
	assert.Equal(t, pulumi.String("copy-code"), inits[1].(corev1.ContainerArgs).Name)

	containers := spec.Containers.(corev1.ContainerArray)
	require.Len(t, containers, 2)
	app := containers[0].(*corev1.ContainerArgs)
	sc := app.SecurityContext.(*corev1.SecurityContextArgs)
	assert.Equal(t, pulumi.Bool(false), sc.AllowPrivilegeEscalation)
	assert.Equal(t, pulumi.StringArray{pulumi.String("ALL")}, sc.Capabilities.(*corev1.CapabilitiesArgs).Drop)
	envFrom := app.EnvFrom.(corev1.EnvFromSourceArray)
	require.Len(t, envFrom, 2)
	assert.NotNil(t, envFrom[0].(corev1.EnvFromSourceArgs).ConfigMapRef)
	assert.NotNil(t, envFrom[1].(corev1.EnvFromSourceArgs).SecretRef, "the Secret comes last and wins")
	env := app.Env.(corev1.EnvVarArray)
	assert.Equal(t, pulumi.String("A"), env[0].(corev1.EnvVarArgs).Name, "container env in key order")
	assert.Len(t, app.VolumeMounts.(corev1.VolumeMountArray), 1)
	assert.Len(t, spec.Volumes.(corev1.VolumeArray), 1)
	assert.NotNil(t, spec.DnsConfig)
	assert.Equal(t, pulumi.Bool(false), spec.AutomountServiceAccountToken)

	open := PodSpec("app", Container{Image: "acme/api:1.0.0"}, PodOptions{})
	assert.Nil(t, open.SecurityContext, "not restricted unless asked")
	assert.Nil(t, open.Containers.(corev1.ContainerArray)[0].(*corev1.ContainerArgs).SecurityContext)
}
