//go:build clientgo_leaderelection

// Built only with the clientgo_leaderelection tag, to measure what linking client-go's
// tools/leaderelection would cost (`TAGS=clientgo_leaderelection scripts/measure-dnssync.sh`):
// the package imports client-go's clientset and informers. The controller does not use it.
package main

import _ "k8s.io/client-go/tools/leaderelection"
