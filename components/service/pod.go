package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"maps"
	"slices"
)

// Labels and annotations every workload object carries.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelWorker    = "shoestring.dev/worker"
	LabelCronJob   = "shoestring.dev/cronjob"
	LabelRelease   = "shoestring.dev/release-job"
	// ConfigChecksumAnnotation on a pod template is the checksum of exactly the ConfigMaps and
	// Secrets the pod reads: changing one of them changes the template, which rolls those
	// Deployments and no others.
	ConfigChecksumAnnotation = "shoestring.dev/config-checksum"
	PartOf                   = "shoestring"
)

// Container is the application container as the service declares it; workers, CronJobs and release
// Jobs copy it and change only Command and Args.
type Container struct {
	Image     string
	Command   []string
	Args      []string
	Resources Resources
	Ports     []Port
	// Env are variables set on the container itself (configuration belongs in ConfigMaps; this is
	// for values tied to the image, such as PGDATA).
	Env map[string]string
	// ImagePullPolicy: "" (Kubernetes' default), Always, IfNotPresent or Never (local images).
	ImagePullPolicy string
	Readiness       *Probe
	Liveness        *Probe
}

// Resources are quantities by resource name ("cpu", "memory").
type Resources struct {
	Requests map[string]string
	Limits   map[string]string
}

type Port struct {
	Name string
	Port int
}

// Probe: Command (exec), else Path (HTTP GET), else a TCP connect, on Port (name or number).
type Probe struct {
	Command             []string
	Path                string
	Port                string
	InitialDelaySeconds int
	PeriodSeconds       int
	TimeoutSeconds      int
	FailureThreshold    int
}

// ConfigRef is a ConfigMap or Secret a pod reads whole through envFrom, with the checksum of its
// content (see Checksum).
type ConfigRef struct {
	Kind     string // "ConfigMap" or "Secret"
	Name     string
	Checksum string
}

// Endpoint is what a wait-for init container blocks on: a TCP connect to Host:Port, or, when set,
// an HTTP GET of URL or a shell Command that must exit 0.
type Endpoint struct {
	Name string // names the init container: wait-for-<name>
	Host string
	Port int
	// URL (http://...) is fetched with busybox wget until it answers 2xx.
	URL string `json:",omitempty"`
	// Command is run with sh -c until it exits 0.
	Command string `json:",omitempty"`
}

// Security is how the pod meets the Pod Security Standards.
type Security struct {
	// Restricted sets what the restricted level requires: non-root, no privilege escalation, all
	// capabilities dropped, the RuntimeDefault seccomp profile.
	Restricted             bool
	RunAsUser              *int
	FSGroup                *int
	ReadOnlyRootFilesystem bool
}

// PodOptions is everything about a pod besides its main container. It is the one place pods are
// extended: dev mode (an SSH/SFTP sidecar, a copying init container, a shared emptyDir) and
// playgrounds (a DNS search path) add their parts through Sidecars, InitContainers, Volumes,
// AppVolumeMounts and DNSConfig, so Deployments, workers, CronJobs and release Jobs all get them from
// PodSpec alike.
type PodOptions struct {
	EnvFrom      []ConfigRef
	WaitFor      []Endpoint
	WaitForImage string
	Security     Security
	// RestartPolicy: "" for Deployments (Always), "Never" for Jobs.
	RestartPolicy string

	// ImagePullSecrets are Secrets of type kubernetes.io/dockerconfigjson the pod pulls images with.
	ImagePullSecrets []string
	// WritablePaths are folders of the main container mounted as emptyDir volumes (named
	// writable-<n>), writable even with a read-only root filesystem.
	WritablePaths []string

	InitContainers  []corev1.ContainerArgs // run after the wait-for containers
	Sidecars        []corev1.ContainerArgs
	Volumes         []corev1.VolumeArgs
	AppVolumeMounts []corev1.VolumeMountArgs // mounted into the main container
	DNSConfig       *corev1.PodDNSConfigArgs
}

// Spread is a topology spread constraint over the pods carrying the template's selector labels.
type Spread struct {
	TopologyKey       string
	MaxSkew           int
	WhenUnsatisfiable string
}

// Checksum is the checksum of a ConfigMap's data (public values; Secrets use KeyedChecksum): it
// changes when any key or value changes.
func Checksum(data map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "%d:%s=%d:%s\n", len(k), k, len(data[k]), data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// KeyedChecksum is the checksum of a Secret's data: an HMAC under the stack's key, so that it
// changes when a value does while nobody without the key can test a guessed value against it
// (pod annotations and release Job names are readable by many more than the Secret).
func KeyedChecksum(key string, data map[string]string) string {
	h := hmac.New(sha256.New, []byte(key))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "%d:%s=%d:%s\n", len(k), k, len(data[k]), data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TemplateChecksum combines the checksums of the ConfigMaps and Secrets a pod reads.
func TemplateChecksum(refs []ConfigRef) string {
	h := sha256.New()
	for _, r := range refs {
		fmt.Fprintf(h, "%s/%s=%s\n", r.Kind, r.Name, r.Checksum)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// ReleaseID hashes what a release Job runs, so its name changes exactly when one of these does.
func ReleaseID(parts ...any) string {
	b, err := json.Marshal(parts)
	if err != nil {
		panic(fmt.Sprintf("service: release id of unmarshalable parts: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:10]
}

// PodTemplate is a pod template with the labels given and the config checksum annotation.
func PodTemplate(labels map[string]string, main Container, name string, o PodOptions) *corev1.PodTemplateSpecArgs {
	return &corev1.PodTemplateSpecArgs{
		Metadata: metaNoName(labels, map[string]string{ConfigChecksumAnnotation: TemplateChecksum(o.EnvFrom)}),
		Spec:     PodSpec(name, main, o),
	}
}

// PodSpec builds every pod of a service (Deployment, worker, CronJob, release Job) from its main
// container named name and the options. Extend pods by adding to PodOptions, not by building pod
// specs elsewhere.
func PodSpec(name string, main Container, o PodOptions) *corev1.PodSpecArgs {
	spec := &corev1.PodSpecArgs{
		AutomountServiceAccountToken: pulumi.Bool(false), // apps do not talk to the Kubernetes API
		EnableServiceLinks:           pulumi.Bool(false), // no SERVICE_* variables leaking into the env
	}
	if o.RestartPolicy != "" {
		spec.RestartPolicy = pulumi.String(o.RestartPolicy)
	}
	psc := &corev1.PodSecurityContextArgs{}
	if o.Security.Restricted {
		psc.RunAsNonRoot = pulumi.Bool(true)
		psc.SeccompProfile = &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")}
	}
	if o.Security.RunAsUser != nil {
		psc.RunAsUser = pulumi.Int(*o.Security.RunAsUser)
		psc.RunAsGroup = pulumi.Int(*o.Security.RunAsUser)
	}
	if o.Security.FSGroup != nil {
		psc.FsGroup = pulumi.Int(*o.Security.FSGroup)
	}
	if o.Security.Restricted || o.Security.RunAsUser != nil || o.Security.FSGroup != nil {
		spec.SecurityContext = psc
	}

	var inits corev1.ContainerArray
	for _, e := range o.WaitFor {
		inits = append(inits, WaitForContainer(e, o.WaitForImage, o.Security.Restricted))
	}
	for _, c := range o.InitContainers {
		inits = append(inits, c)
	}
	if len(inits) > 0 {
		spec.InitContainers = inits
	}

	app := AppContainer(name, main, o)
	containers := corev1.ContainerArray{app}
	for _, c := range o.Sidecars {
		containers = append(containers, c)
	}
	spec.Containers = containers

	var vols corev1.VolumeArray
	for _, v := range o.Volumes {
		vols = append(vols, v)
	}
	for i := range o.WritablePaths {
		vols = append(vols, corev1.VolumeArgs{Name: pulumi.String(writableVolume(i)), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}})
	}
	if len(vols) > 0 {
		spec.Volumes = vols
	}
	if len(o.ImagePullSecrets) > 0 {
		var ps corev1.LocalObjectReferenceArray
		for _, n := range o.ImagePullSecrets {
			ps = append(ps, corev1.LocalObjectReferenceArgs{Name: pulumi.String(n)})
		}
		spec.ImagePullSecrets = ps
	}
	if o.DNSConfig != nil {
		spec.DnsConfig = o.DNSConfig
	}
	return spec
}

// AppContainer is the main container: the image, its command, envFrom in order (later sources win:
// common, then the service's ConfigMap, then its Secret), resources, ports and probes.
func AppContainer(name string, c Container, o PodOptions) *corev1.ContainerArgs {
	ca := &corev1.ContainerArgs{
		Name:            pulumi.String(name),
		Image:           pulumi.String(c.Image),
		SecurityContext: ContainerSecurity(o.Security.Restricted, o.Security.ReadOnlyRootFilesystem),
	}
	if c.ImagePullPolicy != "" {
		ca.ImagePullPolicy = pulumi.String(c.ImagePullPolicy)
	}
	if len(c.Command) > 0 {
		ca.Command = pulumi.ToStringArray(c.Command)
	}
	if len(c.Args) > 0 {
		ca.Args = pulumi.ToStringArray(c.Args)
	}
	if len(c.Env) > 0 {
		var env corev1.EnvVarArray
		for _, k := range slices.Sorted(maps.Keys(c.Env)) {
			env = append(env, corev1.EnvVarArgs{Name: pulumi.String(k), Value: pulumi.String(c.Env[k])})
		}
		ca.Env = env
	}
	if len(o.EnvFrom) > 0 {
		var ef corev1.EnvFromSourceArray
		for _, r := range o.EnvFrom {
			if r.Kind == "Secret" {
				ef = append(ef, corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: pulumi.String(r.Name)}})
			} else {
				ef = append(ef, corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: pulumi.String(r.Name)}})
			}
		}
		ca.EnvFrom = ef
	}
	if rr := resourceArgs(c.Resources); rr != nil {
		ca.Resources = rr
	}
	if len(c.Ports) > 0 {
		var ports corev1.ContainerPortArray
		for _, p := range c.Ports {
			ports = append(ports, corev1.ContainerPortArgs{Name: pulumi.String(p.Name), ContainerPort: pulumi.Int(p.Port), Protocol: pulumi.String("TCP")})
		}
		ca.Ports = ports
	}
	if c.Readiness != nil {
		ca.ReadinessProbe = probeArgs(c.Readiness, c.Ports)
	}
	if c.Liveness != nil {
		ca.LivenessProbe = probeArgs(c.Liveness, c.Ports)
	}
	var vm corev1.VolumeMountArray
	for _, m := range o.AppVolumeMounts {
		vm = append(vm, m)
	}
	for i, p := range o.WritablePaths {
		vm = append(vm, corev1.VolumeMountArgs{Name: pulumi.String(writableVolume(i)), MountPath: pulumi.String(p)})
	}
	if len(vm) > 0 {
		ca.VolumeMounts = vm
	}
	return ca
}

func writableVolume(i int) string { return fmt.Sprintf("writable-%d", i) }

// ContainerSecurity is a container's part of the restricted level (nil when not restricted).
func ContainerSecurity(restricted, readOnlyRoot bool) *corev1.SecurityContextArgs {
	if !restricted && !readOnlyRoot {
		return nil
	}
	sc := &corev1.SecurityContextArgs{}
	if restricted {
		sc.AllowPrivilegeEscalation = pulumi.Bool(false)
		sc.Capabilities = &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}}
	}
	if readOnlyRoot {
		sc.ReadOnlyRootFilesystem = pulumi.Bool(true)
	}
	return sc
}

// WaitForContainer blocks until host:port accepts TCP connections (or URL answers, or Command exits
// 0). Every value goes in as an environment variable, not into the shell script, so no value is
// ever parsed by sh, except a Command, which is a shell command line by definition.
func WaitForContainer(e Endpoint, image string, restricted bool) corev1.ContainerArgs {
	script := `until nc -z -w 2 "$WAIT_HOST" "$WAIT_PORT"; do echo "waiting for $WAIT_HOST:$WAIT_PORT"; sleep 2; done`
	env := corev1.EnvVarArray{
		corev1.EnvVarArgs{Name: pulumi.String("WAIT_HOST"), Value: pulumi.String(e.Host)},
		corev1.EnvVarArgs{Name: pulumi.String("WAIT_PORT"), Value: pulumi.String(fmt.Sprint(e.Port))},
	}
	switch {
	case e.Command != "":
		script = `until sh -c "$WAIT_COMMAND"; do echo "waiting for: $WAIT_COMMAND"; sleep 2; done`
		env = corev1.EnvVarArray{corev1.EnvVarArgs{Name: pulumi.String("WAIT_COMMAND"), Value: pulumi.String(e.Command)}}
	case e.URL != "":
		script = `until wget -q -T 5 --spider "$WAIT_URL"; do echo "waiting for $WAIT_URL"; sleep 2; done`
		env = corev1.EnvVarArray{corev1.EnvVarArgs{Name: pulumi.String("WAIT_URL"), Value: pulumi.String(e.URL)}}
	}
	c := corev1.ContainerArgs{
		Name:    pulumi.String("wait-for-" + e.Name),
		Image:   pulumi.String(image),
		Command: pulumi.ToStringArray([]string{"sh", "-c", script}),
		Env:     env,
		Resources: &corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String("10m"), "memory": pulumi.String("16Mi")},
			Limits:   pulumi.StringMap{"memory": pulumi.String("32Mi")},
		},
	}
	if restricted {
		sc := ContainerSecurity(true, true)
		sc.RunAsUser = pulumi.Int(65534) // busybox's image user is root; nobody is enough for nc
		sc.RunAsNonRoot = pulumi.Bool(true)
		c.SecurityContext = sc
	}
	return c
}

func resourceArgs(r Resources) *corev1.ResourceRequirementsArgs {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return nil
	}
	rr := &corev1.ResourceRequirementsArgs{}
	if len(r.Requests) > 0 {
		rr.Requests = pulumi.ToStringMap(r.Requests)
	}
	if len(r.Limits) > 0 {
		rr.Limits = pulumi.ToStringMap(r.Limits)
	}
	return rr
}

func probeArgs(p *Probe, ports []Port) *corev1.ProbeArgs {
	pa := &corev1.ProbeArgs{}
	port := p.Port
	if port == "" && len(ports) > 0 {
		port = ports[0].Name
	}
	var portIn pulumi.Input = pulumi.String(port)
	if n, err := strconv.Atoi(port); err == nil {
		portIn = pulumi.Int(n)
	}
	switch {
	case len(p.Command) > 0:
		pa.Exec = &corev1.ExecActionArgs{Command: pulumi.ToStringArray(p.Command)}
	case p.Path != "":
		pa.HttpGet = &corev1.HTTPGetActionArgs{Path: pulumi.String(p.Path), Port: portIn}
	default:
		pa.TcpSocket = &corev1.TCPSocketActionArgs{Port: portIn}
	}
	if p.InitialDelaySeconds > 0 {
		pa.InitialDelaySeconds = pulumi.Int(p.InitialDelaySeconds)
	}
	if p.PeriodSeconds > 0 {
		pa.PeriodSeconds = pulumi.Int(p.PeriodSeconds)
	}
	if p.TimeoutSeconds > 0 {
		pa.TimeoutSeconds = pulumi.Int(p.TimeoutSeconds)
	}
	if p.FailureThreshold > 0 {
		pa.FailureThreshold = pulumi.Int(p.FailureThreshold)
	}
	return pa
}
