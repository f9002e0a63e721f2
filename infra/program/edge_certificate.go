package program

import (
	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/stacks"
)

// edgeCertificate adds to args what provides the edge's certificate Secret: the stack's own chain
// and key (source stack), or an Origin CA certificate for the stack's key through a Cloudflare
// provider with the edge's own token (source originCA). An external Secret needs nothing here.
func edgeCertificate(ctx *pulumi.Context, cfg *stacks.Config, args *edge.Args) error {
	c := &cfg.Edge.Certificate
	secrets := cfg.Secrets[stacks.EdgeSecretGroup]
	switch c.Source {
	case stacks.CertificateStack:
		args.Certificate = &edge.CertificateArgs{
			Key:   secrets[stacks.EdgeTLSKeyName].Output(),
			Chain: secrets[stacks.EdgeTLSCertificateName].Output(),
		}
	case stacks.CertificateOriginCA:
		// Its own token, so the DNS-sync controller's token in the cluster can stay DNS-only.
		cf, err := cloudflare.NewProvider(ctx, "edge-origin-ca", &cloudflare.ProviderArgs{
			ApiToken: secrets[stacks.EdgeOriginCATokenName].Output().ToStringPtrOutput(),
		})
		if err != nil {
			return err
		}
		args.Certificate = &edge.CertificateArgs{
			Key: secrets[stacks.EdgeOriginCAKeyName].Output(),
			OriginCA: &edge.OriginCAArgs{
				CSR: secrets[stacks.EdgeOriginCACSRName].Output(), RequestType: stacks.OriginCARequestType, Hostnames: cfg.OriginCAHostnames(),
				ValidityDays: c.ValidityDays, RenewDays: c.RenewDays, Provider: cf,
			},
		}
	}
	return nil
}
