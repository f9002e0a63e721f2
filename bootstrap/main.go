// Command bootstrap is a small Pulumi program (its own project, shoestring-bootstrap) that prepares
// an empty GCP project for the shoestring stacks and their CI: the APIs, the Pulumi state bucket,
// the KMS key for stack secrets, the image registry, the CI service account and the workload
// identity federation that lets one GitHub repository use it. It prints the repository variables
// the workflows read. docs/gcp.md is the walk-through.
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() { pulumi.Run(run) }

// run loads and checks the configuration (invalid input fails here, at preview) and deploys.
func run(ctx *pulumi.Context) error {
	cfg, err := load(ctx)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		_ = ctx.Log.Warn("bootstrap configuration: "+w.Error(), nil)
	}
	out, err := deploy(ctx, cfg)
	if err != nil {
		return err
	}
	out.export(ctx)
	return nil
}
