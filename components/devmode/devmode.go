// Package devmode is a dev mode done as a component: chosen services' pods get an SSH/SFTP
// sidecar sharing the app's code folder (an emptyDir the app's own image fills at start), so
// developers edit the running code from their IDE; the app's command stays unchanged. The
// component holds the developers' authorized keys (a Secret); the pod parts are plain functions the
// program adds through the workloads' PodOptions. Telepresence v2 commands are made here too.
package devmode

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:devmode:DevMode"

// Names of the parts added to a dev-mode pod.
const (
	keysSecretPrefix = "dev-mode-keys-"
	CodeVolume       = "dev-code"
	KeysVolume       = "dev-keys"
	StateVolume      = "dev-sftp-state"
	PrepareName      = "dev-prepare-code"
	SidecarName      = "dev-sftp"
	SidecarPort      = 2222 // the openssh-server contract's port: no root needed to bind it
	stagingPath      = "/dev-code"
	keysMountPath    = "/dev-keys"
	// The copy runs as the app's non-root user: it cannot keep the image's owners (cp -a fails),
	// so it copies plainly into the emptyDir, whose files take the pod's fsGroup (the kubelet
	// makes the folder setgid to it), and gives that group, which the sidecar's user is in too,
	// what the owner has; other users get nothing.
	prepareCommand = "cp -R %q/. %s/ && find %s -mindepth 1 -exec chmod g+rwX,o-rwx {} +"
)

// Args are the component's inputs.
type Args struct {
	Namespace string
	// Keys maps each dev-mode service to the developers (and their SSH public keys) its sidecar
	// lets in: each service gets a Secret of its own, so a key reaches only the sidecars it is for.
	Keys map[string]map[string]string
	// After are what the Secret waits for (the namespace).
	After []pulumi.Resource
}

// DevMode is the component: a Secret of authorized keys per dev-mode service, in the services'
// namespace.
type DevMode struct {
	pulumi.ResourceState

	Secrets map[string]*corev1.Secret
}

// KeysSecret is the name of a service's Secret of authorized keys.
func KeysSecret(service string) string { return keysSecretPrefix + service }

// New creates the authorized-keys Secrets.
func New(ctx *pulumi.Context, name string, a *Args, opts ...pulumi.ResourceOption) (*DevMode, error) {
	d := &DevMode{}
	if err := ctx.RegisterComponentResource(TypeToken, name, d, opts...); err != nil {
		return nil, err
	}
	d.Secrets = map[string]*corev1.Secret{}
	names := pulumi.StringMap{}
	for _, service := range slices.Sorted(maps.Keys(a.Keys)) {
		s, err := corev1.NewSecret(ctx, name+"-keys-"+service, SecretArgs(a.Namespace, service, a.Keys[service]),
			pulumi.Parent(d), pulumi.DependsOn(a.After))
		if err != nil {
			return nil, err
		}
		d.Secrets[service] = s
		names[service] = s.Metadata.Name().Elem()
	}
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"secrets": names})
}

// SecretArgs is the Secret of authorized keys: one file <developer>.pub per developer, the layout
// the sidecar's PUBLIC_KEY_DIR reads. Public keys are not secret; a Secret keeps them out of
// ConfigMaps that services read whole.
func SecretArgs(namespace, service string, keys map[string]string) *corev1.SecretArgs {
	data := pulumi.StringMap{}
	for dev, key := range keys {
		data[dev+".pub"] = pulumi.String(key + "\n")
	}
	return &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(KeysSecret(service)), Namespace: pulumi.String(namespace),
			Labels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("shoestring"), "app.kubernetes.io/component": pulumi.String("dev-mode")},
		},
		Type:       pulumi.String("Opaque"),
		StringData: data,
	}
}

// Pod describes one dev-mode pod.
type Pod struct {
	// Service is the service the pod belongs to: its sidecar mounts that service's keys.
	Service string
	// AppImage is the service's image: the init container copies the code out of it.
	AppImage string
	// CodePath is the code's folder in the image; app and sidecar see the shared copy there.
	CodePath     string
	SidecarImage string
	User         string
	UID, GID     int
	// ImagePullPolicy of both containers ("": Kubernetes' default).
	ImagePullPolicy string
}

// Parts are what dev mode adds to a pod (service.PodOptions' fields of the same names).
type Parts struct {
	InitContainers  []corev1.ContainerArgs
	Volumes         []corev1.VolumeArgs
	AppVolumeMounts []corev1.VolumeMountArgs
	// FSGroup is the pod's fsGroup the app and the sidecar share the code copy through (the
	// developer's gid), for a pod that sets none of its own: every container of the pod is in
	// the pod's fsGroup, whichever it is.
	FSGroup int
}

// PodParts builds the parts: an emptyDir for the code; an init container, from the app's own image,
// copying the image's code into it (so the app starts with exactly the released code); the app
// mounting it over its code folder; and the SSH/SFTP sidecar mounting it at the same path, with the
// developers' keys. The sidecar is a native sidecar (an init container with restartPolicy Always,
// Kubernetes 1.29+): it runs beside the app, yet a CronJob's or Job's pod still completes when
// the app exits, which an ordinary second container would prevent forever.
//
// The sidecar runs as the developer's uid, never root, with no capabilities and a read-only root:
// an SSH server running as one user can only log that user in, so root login is impossible, not
// merely configured off. Its host key and the copied keys live in its own emptyDir.
func PodParts(p Pod) Parts {
	codeMount := func(path string) corev1.VolumeMountArgs {
		return corev1.VolumeMountArgs{Name: pulumi.String(CodeVolume), MountPath: pulumi.String(path)}
	}
	env := func(k, v string) corev1.EnvVarArgs {
		return corev1.EnvVarArgs{Name: pulumi.String(k), Value: pulumi.String(v)}
	}
	return Parts{
		Volumes: []corev1.VolumeArgs{
			{Name: pulumi.String(CodeVolume), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}},
			{Name: pulumi.String(KeysVolume), Secret: &corev1.SecretVolumeSourceArgs{SecretName: pulumi.String(KeysSecret(p.Service)), DefaultMode: pulumi.Int(0o444)}},
			{Name: pulumi.String(StateVolume), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{Medium: pulumi.String("Memory"), SizeLimit: pulumi.String("1Mi")}},
		},
		AppVolumeMounts: []corev1.VolumeMountArgs{codeMount(p.CodePath)},
		FSGroup:         p.GID,
		InitContainers: []corev1.ContainerArgs{{
			Name:            pulumi.String(PrepareName),
			Image:           pulumi.String(p.AppImage),
			Command:         pulumi.ToStringArray([]string{"sh", "-c", fmt.Sprintf(prepareCommand, p.CodePath, stagingPath, stagingPath)}),
			ImagePullPolicy: pullPolicy(p.ImagePullPolicy),
			SecurityContext: &corev1.SecurityContextArgs{
				AllowPrivilegeEscalation: pulumi.Bool(false),
				Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
			},
			VolumeMounts: corev1.VolumeMountArray{codeMount(stagingPath)},
		}, {
			Name:            pulumi.String(SidecarName),
			Image:           pulumi.String(p.SidecarImage),
			ImagePullPolicy: pullPolicy(p.ImagePullPolicy),
			RestartPolicy:   pulumi.String("Always"),
			SecurityContext: &corev1.SecurityContextArgs{
				RunAsUser: pulumi.Int(p.UID), RunAsGroup: pulumi.Int(p.GID), RunAsNonRoot: pulumi.Bool(true),
				AllowPrivilegeEscalation: pulumi.Bool(false), ReadOnlyRootFilesystem: pulumi.Bool(true),
				Capabilities: &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
			},
			Env: corev1.EnvVarArray{
				env("USER_NAME", p.User), env("PUID", strconv.Itoa(p.UID)), env("PGID", strconv.Itoa(p.GID)),
				env("PUBLIC_KEY_DIR", keysMountPath), env("PASSWORD_ACCESS", "false"), env("SUDO_ACCESS", "false"),
			},
			Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{Name: pulumi.String("ssh"), ContainerPort: pulumi.Int(SidecarPort), Protocol: pulumi.String("TCP")}},
			// Ready once the server listens, so a rollout ends with the sidecar reachable.
			ReadinessProbe: &corev1.ProbeArgs{
				TcpSocket:     &corev1.TCPSocketActionArgs{Port: pulumi.Int(SidecarPort)},
				PeriodSeconds: pulumi.Int(2),
			},
			VolumeMounts: corev1.VolumeMountArray{
				codeMount(p.CodePath),
				corev1.VolumeMountArgs{Name: pulumi.String(KeysVolume), MountPath: pulumi.String(keysMountPath), ReadOnly: pulumi.Bool(true)},
				corev1.VolumeMountArgs{Name: pulumi.String(StateVolume), MountPath: pulumi.String("/tmp")},
			},
			Resources: &corev1.ResourceRequirementsArgs{
				Requests: pulumi.StringMap{"cpu": pulumi.String("10m"), "memory": pulumi.String("16Mi")},
				Limits:   pulumi.StringMap{"memory": pulumi.String("64Mi")},
			},
		}},
	}
}

func pullPolicy(p string) pulumi.StringPtrInput {
	if p == "" {
		return nil
	}
	return pulumi.String(p)
}

// Commands are the exact commands to reach one dev-mode service from a developer's machine.
type Commands struct {
	PortForward string `json:"portForward"`
	SFTP        string `json:"sftp"`
	SSH         string `json:"ssh"`
	CodePath    string `json:"codePath"`
}

// AccessCommands: forward a local port to the sidecar, then sftp/ssh to it. localPort differs per
// service so several can be open at once.
func AccessCommands(namespace, service, user, codePath string, localPort int) Commands {
	return Commands{
		PortForward: fmt.Sprintf("kubectl --namespace %s port-forward deployment/%s %d:%d", namespace, service, localPort, SidecarPort),
		SFTP:        fmt.Sprintf("sftp -P %d %s@127.0.0.1:%s", localPort, user, codePath),
		SSH:         fmt.Sprintf("ssh -p %d %s@127.0.0.1", localPort, user),
		CodePath:    codePath,
	}
}

// Telepresence are the Telepresence v2 commands for one service: connect to the namespace, then
// either intercept the service's traffic to a local process (keeping the pod) or replace the
// container by a local one; both write the pod's environment to an env file.
type Telepresence struct {
	Connect   string `json:"connect"`
	Intercept string `json:"intercept"`
	Replace   string `json:"replace"`
	EnvFile   string `json:"envFile"`
	Leave     string `json:"leave"`
	Quit      string `json:"quit"`
}

// TelepresenceCommands for a service whose Deployment is named service, whose main container is
// container and whose first port is port (0: a service without ports, which can only be replaced).
func TelepresenceCommands(namespace, service, container string, port int) Telepresence {
	envFile := service + ".env"
	t := Telepresence{
		Connect: fmt.Sprintf("telepresence connect --namespace %s", namespace),
		Replace: fmt.Sprintf("telepresence replace %s --container %s --env-file %s", service, container, envFile),
		EnvFile: envFile,
		Leave:   fmt.Sprintf("telepresence leave %s", service),
		Quit:    "telepresence quit",
	}
	if port > 0 {
		t.Intercept = fmt.Sprintf("telepresence intercept %s --port %d:%d --env-file %s", service, port, port, envFile)
	}
	return t
}
