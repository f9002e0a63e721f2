// Command pulumi-resource-kubernetes is the Pulumi Kubernetes provider, built from its Go module
// for machines where the plugin cannot be downloaded. The two embedded files are generated next to
// this file by gen.go at build time (scripts/tools.sh) from the module's own schema.json and
// terraform-mapping.json, as the provider's own generate.go does.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
