// Package podsecurity labels the namespaces components create for themselves with one Pod Security
// Standard level, enforced, warned and audited alike.
package podsecurity

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NamespaceArgs is a namespace of shoestring's at the given level ("restricted", "baseline",
// "privileged").
func NamespaceArgs(name, level string) *corev1.NamespaceArgs {
	return &corev1.NamespaceArgs{Metadata: &metav1.ObjectMetaArgs{
		Name: pulumi.String(name),
		Labels: pulumi.StringMap{
			"pod-security.kubernetes.io/enforce": pulumi.String(level),
			"pod-security.kubernetes.io/warn":    pulumi.String(level),
			"pod-security.kubernetes.io/audit":   pulumi.String(level),
			"app.kubernetes.io/part-of":          pulumi.String("shoestring"),
		},
	}}
}
