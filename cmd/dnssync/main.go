// Command dnssync keeps the Cloudflare A/AAAA records of a few names equal to the addresses of a
// Kubernetes cluster's Ready nodes, without ever wiping them or touching records it does not own.
// See internal/dnssync and docs/dns-sync.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/shoestring-dev/shoestring/internal/dnssync"
)

func main() {
	o, err := dnssync.OSOptions(os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dnssync: invalid configuration:\n%v\n", err)
		os.Exit(2)
	}
	log := dnssync.NewLogger(o.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := dnssync.Run(ctx, o, log); err != nil {
		log.Error("exiting", "err", err)
		os.Exit(1)
	}
	log.Info("stopped")
}
