//go:build ignore

// gen writes schema-embed.json (the module's schema.json with "version" set) and
// terraform-mapping-embed.json (terraform-mapping.json, compacted) into the current folder.
//
//	go run gen.go <provider module dir> <version>
package main

import (
	"bytes"
	"encoding/json"
	"log"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: go run gen.go <provider module dir> <version>")
	}
	dir, version := os.Args[1], os.Args[2]
	src := filepath.Join(dir, "cmd", "pulumi-resource-kubernetes")

	raw, err := os.ReadFile(filepath.Join(src, "schema.json"))
	if err != nil {
		log.Fatal(err)
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		log.Fatalf("schema.json: %v", err)
	}
	spec["version"], _ = json.Marshal(version)
	out, err := json.Marshal(spec)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("schema-embed.json", out, 0o644); err != nil {
		log.Fatal(err)
	}

	raw, err = os.ReadFile(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		log.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		log.Fatalf("terraform-mapping.json: %v", err)
	}
	if err := os.WriteFile("terraform-mapping-embed.json", compact.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
