package localimages

import "context"

// DNSSync is the DNS-sync controller built here, for a stack whose DNS sync runs on the local
// cluster against the Cloudflare double (engine.Options.CloudflareAPI).
const DNSSync = "shoestring.local/dnssync:dev"

// DNSSyncSpec is the controller's image: the static binary of cmd/dnssync alone, as its Dockerfile
// makes it on a distroless base (no shell, user 65532, the binary as entrypoint, the same
// GOMEMLIMIT and GOGC). Not in Catalogue: only the stacks that keep DNS sync on locally need it.
func DNSSyncSpec() Spec {
	return Spec{
		Name: DNSSync,
		Config: ImageConfig{
			Entrypoint: []string{"/dnssync"},
			User:       "65532:65532",
			Env:        []string{"GOMEMLIMIT=16MiB", "GOGC=50"},
		},
		Inputs: []string{"go.mod", "go.sum", "cmd/dnssync", "internal/dnssync"},
		Files: func(ctx context.Context, b *Builder) ([]File, error) {
			bin, err := b.goBinary(ctx, ".", "./cmd/dnssync")
			if err != nil {
				return nil, err
			}
			return []File{{Path: "/dnssync", Mode: 0o755, Data: bin}}, nil
		},
	}
}
