package stacks

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shoestring-dev/shoestring/internal/dnssync"
)

// The program deploys the controller with the stack's dns values as its flags, so the stack file
// check and the controller's flag check accept and refuse the same values: a value the stack file
// passes never crash-loops the controller, and one the controller would take is not refused here.
func TestDNSValuesAcceptedByTheStackFileAndTheControllerAlike(t *testing.T) {
	controllerAccepts := func(args ...string) bool {
		env := map[string]string{"CLOUDFLARE_API_TOKEN": "t"}
		_, err := dnssync.ParseOptions(args, func(k string) string { return env[k] },
			func(string) ([]byte, error) { return nil, os.ErrNotExist }, io.Discard)
		return err == nil
	}
	stackAccepts := func(dns map[string]string) bool {
		b, err := json.Marshal(dns)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(map[string]string{"shoestring:cluster": gke, "shoestring:dns": string(b)}, nil)
		return err == nil
	}
	long := strings.Repeat("a", 63)

	// A zone name and a synced name follow one grammar: each value is used as both.
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"k.example.com", true}, {"K.Example.COM.", true}, {"xn--bcher-kva.example.com", true},
		{long + ".example.com", true}, {"k.xn--p1ai", true},
		{"example", false}, {"k.example.123", false}, {"10.0.0.1", false}, {"k_1.example.com", false}, {"-k.example.com", false},
		{long + "a.example.com", false}, {"*.example.com", false}, {"k..example.com", false}, {"k example.com", false},
	} {
		stack := stackAccepts(map[string]string{"zone": tc.name, "name": tc.name})
		controller := controllerAccepts("--names="+tc.name, "--zone="+tc.name, "--owner-id=c1")
		assert.Equal(t, tc.ok, stack, "stack file, zone and name %q", tc.name)
		assert.Equal(t, tc.ok, controller, "controller, --zone and --names %q", tc.name)
	}

	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"9a7806061c88ada191ed06f989cc3dac", true},
		{"9A7806061C88ADA191ED06F989CC3DAC", false}, {"9a7806061c88ada191ed06f989cc3da", false},
		{"9a7806061c88ada191ed06f989cc3dac0", false}, {"9a7806061c88ada191ed06f989cc3dag", false},
	} {
		stack := stackAccepts(map[string]string{"zone": "example.com", "name": "k.example.com", "zoneId": tc.id})
		controller := controllerAccepts("--names=k.example.com", "--zone="+tc.id, "--owner-id=c1")
		assert.Equal(t, tc.ok, stack, "stack file, zoneId %q", tc.id)
		assert.Equal(t, tc.ok, controller, "controller, --zone %q", tc.id)
	}

	for _, tc := range []struct {
		owner string
		ok    bool
	}{
		{"c1", true}, {"prod.eu_1-a", true}, {long, true},
		{"a b", false}, {"-a", false}, {"_a", false}, {long + "a", false}, {"ä", false}, {"a/b", false},
	} {
		stack := stackAccepts(map[string]string{"zone": "example.com", "name": "k.example.com", "ownerId": tc.owner})
		controller := controllerAccepts("--names=k.example.com", "--zone=example.com", "--owner-id="+tc.owner)
		assert.Equal(t, tc.ok, stack, "stack file, ownerId %q", tc.owner)
		assert.Equal(t, tc.ok, controller, "controller, --owner-id %q", tc.owner)
	}
}
