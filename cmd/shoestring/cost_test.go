package main

import (
	"strings"

	"bytes"
	"github.com/shoestring-dev/shoestring/stacks"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeStack(t *testing.T, dir, stack, body string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), []byte("config:\n"+body), 0o644))
}

const zonal = "  shoestring:cluster:\n    gke:\n      zone: us-central1-a\n      provisioning: spot\n"

func TestCostAllCountsTheCreditOncePerBillingAccount(t *testing.T) {
	dir := t.TempDir()
	writeStack(t, dir, "a", zonal+"  shoestring:billing:\n    sharedWith: [b]\n")
	writeStack(t, dir, "b", zonal+"  shoestring:billing:\n    sharedWith: [a]\n")
	writeStack(t, dir, "c", zonal) // alone on its account
	writeStack(t, dir, "dev", "  shoestring:cluster:\n    mode: existing\n    existing:\n      kubeconfig: /nonexistent\n")
	var out bytes.Buffer
	require.NoError(t, costAll(&out, dir, false))
	s := out.String()
	// Each of a, b: 17.63 + 73 - 37.20 = 53.43; together 106.86, the account's bill (73 x 2 - 74.40 of fees).
	assert.Contains(t, s, "a + b: 106.86 USD/month as configured")
	assert.Contains(t, s, "c: 17.63 USD/month as configured")
	assert.Contains(t, s, "free-tier credit (1/2: 2 zonal clusters share the account)")
	assert.NotContains(t, s, "== dev", "a stack on an existing cluster bills nothing here")
	assert.Contains(t, s, "2018 setup (")

	out.Reset()
	require.NoError(t, costOne(&out, filepath.Join(dir, "Pulumi.a.yaml"), false))
	assert.Contains(t, out.String(), "configured (spot/preemptible): 53.43 USD/month")
}

func TestCostRefusesABillingAccountTheStacksDisagreeOn(t *testing.T) {
	dir := t.TempDir()
	writeStack(t, dir, "a", zonal+"  shoestring:billing:\n    sharedWith: [b]\n")
	writeStack(t, dir, "b", zonal)
	var out bytes.Buffer
	err := costOne(&out, filepath.Join(dir, "Pulumi.a.yaml"), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:billing.sharedWith[0]: "b" does not list "a" back in its shoestring:billing.sharedWith: add "a" there`)
	require.Error(t, costAll(&out, dir, false))

	writeStack(t, dir, "a", zonal+"  shoestring:billing:\n    sharedWith: [prod]\n")
	err = costOne(&out, filepath.Join(dir, "Pulumi.a.yaml"), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shoestring:billing.sharedWith[0]: "prod" names a stack without a stack file`)
	assert.Contains(t, err.Error(), "shoestring:billing.otherClusters")
}

func TestCostNamesARegionThePriceTableDoesNotCover(t *testing.T) {
	dir := t.TempDir()
	writeStack(t, dir, "eu", "  shoestring:cluster:\n    gke:\n      zone: europe-west1-b\n")
	var out bytes.Buffer
	err := costOne(&out, filepath.Join(dir, "Pulumi.eu.yaml"), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no prices for region "europe-west1" in internal/cost/prices.json (it covers us-central1)`)
	assert.Empty(t, out.String(), "nothing priced with another region's figures")
}

func TestCostOfTheShippedStacks(t *testing.T) {
	var out bytes.Buffer
	// As committed, sandbox and prod set none of their secrets: every command refuses them, so
	// that cost agrees with preview.
	err := costAll(&out, filepath.Join("..", ".."), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shoestring:secrets.api.DB_PASSWORD: is referenced but not set")

	// As a deployer's copy is once `pulumi config set --secret` has set them.
	dir := t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.sandbox.yaml", "Pulumi.prod.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		require.NoError(t, err)
		// A deployer's copy names the team's zone, not Cloudflare's documentation example.
		b = []byte(strings.ReplaceAll(string(b), stacks.ExampleZoneID, "0123456789abcdef0123456789abcdef"))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	edge := "    edge: {CLOUDFLARE_API_TOKEN: " + encrypted + ", ORIGIN_CA_CSR: " + encrypted + ", ORIGIN_CA_KEY: " + encrypted + "}\n"
	common := "  shoestring:secrets:\n    api: {DB_PASSWORD: " + encrypted + "}\n    checksum: {HMAC_KEY: " + encrypted + "}\n    dns-sync: {CLOUDFLARE_API_TOKEN: " + encrypted + "}\n" + edge
	appendTo(t, filepath.Join(dir, "Pulumi.prod.yaml"), common)
	appendTo(t, filepath.Join(dir, "Pulumi.sandbox.yaml"), common+"    mysql: {MYSQL_PASSWORD: "+encrypted+", MYSQL_ROOT_PASSWORD: "+encrypted+"}\n")
	out.Reset()
	require.NoError(t, costAll(&out, dir, false))
	assert.Contains(t, out.String(), "prod + sandbox: 107.46 USD/month as configured (170.08 if all on-demand, 107.46 if all spot/preemptible)")
}

// encrypted is a value as `pulumi config set --secret` writes it (the ciphertext is not read here).
const encrypted = "{secure: v1:c2hvZXN0cmluZw==:Y2lwaGVydGV4dA==}"

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
