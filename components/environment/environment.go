// Package environment is what every workload of a stack shares: the namespace, labelled
// with the Pod Security Standard it enforces, the common ConfigMap every service reads, and each
// service's (and in-cluster backing service's) own ConfigMap and Secret. Secrets come from Pulumi
// secret config and stay Pulumi secrets: their values never appear in plain text in inputs or outputs.
package environment

import (
	"encoding/base64"
	"encoding/json"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/service"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "shoestring:environment:Environment"

// CommonConfigMap is the name of the ConfigMap every service reads first; CommonSecret the Secret
// read right after it; RegistrySecret the pull Secret made from Registry.
const (
	CommonConfigMap = "common-config"
	CommonSecret    = "common-secrets"
	RegistrySecret  = "registry-credentials"
)

// Registry is a private registry's credentials.
type Registry struct {
	Server, Username string
	Password         SecretValue
}

// ConfigMapName and SecretName are a service's (or backing service's) own configuration objects.
func ConfigMapName(owner string) string { return owner + "-config" }
func SecretName(owner string) string    { return owner + "-secrets" }

type Args struct {
	Namespace   string
	PodSecurity PodSecurity
	// NamespaceLabels are more labels of the namespace (what NetworkPolicies elsewhere select it by).
	NamespaceLabels map[string]string
	CommonEnv       map[string]string
	// CommonSecrets make up the Secret common-secrets, read by every service pod right after
	// common-config (none: no Secret).
	CommonSecrets map[string]SecretValue
	// Registry, when set, makes the pull Secret RegistrySecret (kubernetes.io/dockerconfigjson).
	Registry *Registry
	// Configs are the per-service (and per-backing-service) ConfigMaps and Secrets, in order.
	Configs []Config
	// ChecksumKey keys the checksums of the Secrets' values (service.KeyedChecksum); required
	// when there are Secrets.
	ChecksumKey SecretValue
}

// PodSecurity is the namespace's Pod Security Standard labels.
type PodSecurity struct {
	Enforce, Warn, Audit, Version string
}

// Config is one owner's variables: Env becomes <owner>-config, Secrets <owner>-secrets (each only
// when not empty).
type Config struct {
	Owner   string
	Env     map[string]string
	Secrets map[string]SecretValue
}

// SecretValue is a value that must stay a Pulumi secret: Output marks it secret for resources;
// Reveal is only hashed with the checksum key, so that a pod's checksum annotation changes when a
// value does.
type SecretValue interface {
	Output() pulumi.StringOutput
	Reveal() string
}

// Environment is the component.
type Environment struct {
	pulumi.ResourceState

	Namespace *corev1.Namespace
	// Resources are the namespace and every ConfigMap and Secret: what pods reading them wait for.
	Resources []pulumi.Resource
	refs      map[string][]service.ConfigRef
}

func New(ctx *pulumi.Context, name string, a *Args, opts ...pulumi.ResourceOption) (*Environment, error) {
	e := &Environment{refs: map[string][]service.ConfigRef{}}
	if err := ctx.RegisterComponentResource(TypeToken, name, e, opts...); err != nil {
		return nil, err
	}
	ns, err := corev1.NewNamespace(ctx, a.Namespace, NamespaceArgs(a), pulumi.Parent(e))
	if err != nil {
		return nil, err
	}
	e.Namespace = ns
	e.Resources = append(e.Resources, ns)
	inNS := []pulumi.ResourceOption{pulumi.Parent(e), pulumi.DependsOn([]pulumi.Resource{ns})}

	cm, err := corev1.NewConfigMap(ctx, CommonConfigMap, ConfigMapArgs(a.Namespace, CommonConfigMap, a.CommonEnv), inNS...)
	if err != nil {
		return nil, err
	}
	e.Resources = append(e.Resources, cm)
	if len(a.CommonSecrets) > 0 {
		r, err := corev1.NewSecret(ctx, CommonSecret, SecretArgs(a.Namespace, CommonSecret, a.CommonSecrets), inNS...)
		if err != nil {
			return nil, err
		}
		e.Resources = append(e.Resources, r)
	}
	if a.Registry != nil {
		r, err := corev1.NewSecret(ctx, RegistrySecret, RegistrySecretArgs(a.Namespace, a.Registry), inNS...)
		if err != nil {
			return nil, err
		}
		e.Resources = append(e.Resources, r)
	}
	for _, c := range a.Configs {
		if len(c.Env) > 0 {
			n := ConfigMapName(c.Owner)
			r, err := corev1.NewConfigMap(ctx, n, ConfigMapArgs(a.Namespace, n, c.Env), inNS...)
			if err != nil {
				return nil, err
			}
			e.Resources = append(e.Resources, r)
		}
		if len(c.Secrets) > 0 {
			n := SecretName(c.Owner)
			r, err := corev1.NewSecret(ctx, n, SecretArgs(a.Namespace, n, c.Secrets), inNS...)
			if err != nil {
				return nil, err
			}
			e.Resources = append(e.Resources, r)
		}
	}
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{"namespace": ns.Metadata.Name()}); err != nil {
		return nil, err
	}
	return e, nil
}

// EnvFrom is what a pod of owner reads, in order (later wins): the common ConfigMap (unless
// withCommon is false, as for backing services), the owner's ConfigMap and Secret, each with the
// checksum of its content.
func EnvFrom(a *Args, owner string, withCommon bool) []service.ConfigRef {
	var refs []service.ConfigRef
	if withCommon {
		refs = append(refs, service.ConfigRef{Kind: "ConfigMap", Name: CommonConfigMap, Checksum: service.Checksum(a.CommonEnv)})
		if len(a.CommonSecrets) > 0 {
			refs = append(refs, service.ConfigRef{Kind: "Secret", Name: CommonSecret, Checksum: secretChecksum(a, a.CommonSecrets)})
		}
	}
	for _, c := range a.Configs {
		if c.Owner != owner {
			continue
		}
		if len(c.Env) > 0 {
			refs = append(refs, service.ConfigRef{Kind: "ConfigMap", Name: ConfigMapName(owner), Checksum: service.Checksum(c.Env)})
		}
		if len(c.Secrets) > 0 {
			refs = append(refs, service.ConfigRef{Kind: "Secret", Name: SecretName(owner), Checksum: secretChecksum(a, c.Secrets)})
		}
	}
	return refs
}

// secretChecksum is the keyed checksum of a Secret's values. Without a key it panics: a plain hash
// of secret values is what the key exists to avoid, and the program always passes one.
func secretChecksum(a *Args, secrets map[string]SecretValue) string {
	if a.ChecksumKey == nil {
		panic("environment: Secrets without a ChecksumKey")
	}
	return service.KeyedChecksum(a.ChecksumKey.Reveal(), reveal(secrets))
}

// reveal is the secrets' plain values, only ever hashed with the key: the annotation must change
// when a value does.
func reveal(secrets map[string]SecretValue) map[string]string {
	revealed := make(map[string]string, len(secrets))
	for k, v := range secrets {
		revealed[k] = v.Reveal()
	}
	return revealed
}

// NamespaceArgs is the namespace with its Pod Security Standard labels: enforce rejects pods that do
// not meet the level; warn and audit report them.
func NamespaceArgs(a *Args) *corev1.NamespaceArgs {
	p := a.PodSecurity
	labels := pulumi.StringMap{
		"app.kubernetes.io/part-of":                  pulumi.String(service.PartOf),
		"pod-security.kubernetes.io/enforce":         pulumi.String(p.Enforce),
		"pod-security.kubernetes.io/enforce-version": pulumi.String(p.Version),
		"pod-security.kubernetes.io/warn":            pulumi.String(p.Warn),
		"pod-security.kubernetes.io/warn-version":    pulumi.String(p.Version),
		"pod-security.kubernetes.io/audit":           pulumi.String(p.Audit),
		"pod-security.kubernetes.io/audit-version":   pulumi.String(p.Version),
	}
	for k, v := range a.NamespaceLabels {
		labels[k] = pulumi.String(v)
	}
	return &corev1.NamespaceArgs{Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(a.Namespace), Labels: labels}}
}

// ConfigMapArgs is a ConfigMap of environment variables.
func ConfigMapArgs(ns, name string, data map[string]string) *corev1.ConfigMapArgs {
	return &corev1.ConfigMapArgs{
		Metadata: service.Meta(ns, name, map[string]string{service.LabelPartOf: service.PartOf}),
		Data:     pulumi.ToStringMap(data),
	}
}

// SecretArgs is a Secret whose every value is a Pulumi secret (stringData, so no base64 step exposes it).
func SecretArgs(ns, name string, secrets map[string]SecretValue) *corev1.SecretArgs {
	data := pulumi.StringMap{}
	for k, v := range secrets {
		data[k] = v.Output()
	}
	return &corev1.SecretArgs{
		Metadata:   service.Meta(ns, name, map[string]string{service.LabelPartOf: service.PartOf}),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.ToSecret(data).(pulumi.StringMapOutput),
	}
}

// RegistrySecretArgs is a kubernetes.io/dockerconfigjson Secret for one registry; the whole
// document is a Pulumi secret, since it holds the password.
func RegistrySecretArgs(ns string, r *Registry) *corev1.SecretArgs {
	doc := r.Password.Output().ApplyT(func(pw string) (string, error) {
		auth := base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + pw))
		b, err := json.Marshal(map[string]any{"auths": map[string]any{
			r.Server: map[string]string{"username": r.Username, "password": pw, "auth": auth},
		}})
		return string(b), err
	}).(pulumi.StringOutput)
	return &corev1.SecretArgs{
		Metadata:   service.Meta(ns, RegistrySecret, map[string]string{service.LabelPartOf: service.PartOf}),
		Type:       pulumi.String("kubernetes.io/dockerconfigjson"),
		StringData: pulumi.ToSecret(pulumi.StringMap{".dockerconfigjson": doc}).(pulumi.StringMapOutput),
	}
}
