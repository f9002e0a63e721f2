package devmode

import (
	"testing"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPodParts(t *testing.T) {
	p := PodParts(Pod{Service: "users", AppImage: "example/users:1.0", CodePath: "/srv/app", SidecarImage: "sshd:1", User: "dev", UID: 1000, GID: 1001, ImagePullPolicy: "Never"})

	require.Len(t, p.Volumes, 3)
	assert.Equal(t, CodeVolume, str(p.Volumes[0].Name))
	assert.NotNil(t, p.Volumes[0].EmptyDir)
	assert.Equal(t, "dev-mode-keys-users", str(p.Volumes[1].Secret.(*corev1.SecretVolumeSourceArgs).SecretName), "the service's own keys")
	require.Len(t, p.InitContainers, 2)
	prep, sftp := p.InitContainers[0], p.InitContainers[1]
	assert.Equal(t, "example/users:1.0", str(prep.Image), "the code comes from the app's own image")
	assert.Equal(t, []string{"sh", "-c", `cp -R "/srv/app"/. /dev-code/ && find /dev-code -mindepth 1 -exec chmod g+rwX,o-rwx {} +`}, strs(prep.Command))
	assert.Equal(t, 1001, p.FSGroup, "the app and the sidecar share the copy through the developer's group")
	assert.Equal(t, "Always", str(sftp.RestartPolicy), "a native sidecar: Job pods still complete")
	assert.Equal(t, "sshd:1", str(sftp.Image))
	assert.Equal(t, "Never", str(sftp.ImagePullPolicy), "the stack's pull policy holds for dev mode's images too")
	assert.Equal(t, "Never", str(prep.ImagePullPolicy))
	sc := sftp.SecurityContext.(*corev1.SecurityContextArgs)
	assert.Equal(t, pulumi.Int(1000), sc.RunAsUser, "the sidecar runs as the developer, never root")
	assert.Equal(t, pulumi.Int(1001), sc.RunAsGroup)
	assert.Equal(t, pulumi.Bool(true), sc.RunAsNonRoot)
	assert.Equal(t, pulumi.Bool(true), sc.ReadOnlyRootFilesystem)
	assert.Equal(t, pulumi.Bool(false), sc.AllowPrivilegeEscalation)
	assert.Equal(t, StateVolume, str(p.Volumes[2].Name), "its writable state is its own emptyDir")
	require.Len(t, p.AppVolumeMounts, 1)
	assert.Equal(t, "/srv/app", str(p.AppVolumeMounts[0].MountPath), "the app reads the shared copy at its own code path")
	env := map[string]string{}
	for _, e := range envOf(sftp) {
		env[e[0]] = e[1]
	}
	assert.Equal(t, map[string]string{"USER_NAME": "dev", "PUID": "1000", "PGID": "1001", "PUBLIC_KEY_DIR": "/dev-keys",
		"PASSWORD_ACCESS": "false", "SUDO_ACCESS": "false"}, env)
}

func TestSecretHoldsOneFilePerDeveloper(t *testing.T) {
	a := SecretArgs("play-x", "users", map[string]string{"bob": "ssh-ed25519 BBB bob", "alice": "ssh-ed25519 AAA alice"})
	meta := a.Metadata.(*metav1.ObjectMetaArgs)
	assert.Equal(t, "dev-mode-keys-users", str(meta.Name))
	assert.Equal(t, "play-x", str(meta.Namespace))
	data := map[string]string{}
	for k, v := range a.StringData.(pulumi.StringMap) {
		data[k] = str(v)
	}
	assert.Equal(t, map[string]string{"alice.pub": "ssh-ed25519 AAA alice\n", "bob.pub": "ssh-ed25519 BBB bob\n"}, data)
}

func TestCommands(t *testing.T) {
	c := AccessCommands("play-x", "users", "dev", "/app", 2223)
	assert.Equal(t, "kubectl --namespace play-x port-forward deployment/users 2223:2222", c.PortForward)
	assert.Equal(t, "sftp -P 2223 dev@127.0.0.1:/app", c.SFTP)
	assert.Equal(t, "ssh -p 2223 dev@127.0.0.1", c.SSH)

	tp := TelepresenceCommands("shop", "users", "app", 8080)
	assert.Equal(t, "telepresence connect --namespace shop", tp.Connect)
	assert.Equal(t, "telepresence intercept users --port 8080:8080 --env-file users.env", tp.Intercept)
	assert.Equal(t, "telepresence replace users --container app --env-file users.env", tp.Replace)
	assert.Equal(t, "users.env", tp.EnvFile)
	assert.Empty(t, TelepresenceCommands("shop", "mailer", "app", 0).Intercept, "nothing to intercept without a port")
}

func str(v any) string { return string(v.(pulumi.String)) }

func strs(v pulumi.StringArrayInput) []string {
	var out []string
	for _, s := range v.(pulumi.StringArray) {
		out = append(out, str(s))
	}
	return out
}

func envOf(c corev1.ContainerArgs) [][2]string {
	var out [][2]string
	for _, e := range c.Env.(corev1.EnvVarArray) {
		ea := e.(corev1.EnvVarArgs)
		out = append(out, [2]string{str(ea.Name), str(ea.Value)})
	}
	return out
}
