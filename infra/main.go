// The shoestring Pulumi program. `pulumi up -s sandbox` runs this main; what it builds is read top
// to bottom in infra/program.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/infra/program"
)

func main() {
	pulumi.Run(program.Run)
}
