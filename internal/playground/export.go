package playground

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Export records a playground stack's identity as its OutputKey output; the program calls it in
// playground stacks, and `shoestring playground list` and `reap` read it back.
func Export(ctx *pulumi.Context, rec Record) {
	m := pulumi.StringMap{}
	for k, v := range rec.Map() {
		m[k] = pulumi.String(v)
	}
	ctx.Export(OutputKey, m)
}
