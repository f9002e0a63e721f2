package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed reference is what the generator writes from today's schema.
func TestReferenceIsUpToDate(t *testing.T) {
	root := filepath.Join("..", "..")
	want, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, OutputFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from the schema's field comments: run `go generate ./stacks` or `make docs` and commit the result", OutputFile)
	}
}

// A schema field without a comment fails the generator, naming the field and its key.
func TestFieldsNeedAComment(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "stacks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `package stacks

type Config struct {
	ThingConfig
}

type ThingConfig struct {
	// Thing is the thing.
	Thing Thing ` + "`config:\"thing\"`" + `
}

// Thing is a section.
type Thing struct {
	// Size is documented.
	Size int ` + "`json:\"size\"`" + `
	Colour string ` + "`json:\"colour\"`" + `
	Items []Item ` + "`json:\"items\"`" + ` // Items are documented on their line.
}

// Item is one item.
type Item struct {
	// ID and Label name an item.
	ID string ` + "`json:\"id\"`" + `
	Label string ` + "`json:\"label\"`" + `
	Weight int ` + "`json:\"weight\"`" + `
}
`
	if err := os.WriteFile(filepath.Join(dir, "schema.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(root)
	if err == nil {
		t.Fatal("want an error for the fields without a comment")
	}
	for _, want := range []string{"Thing.Colour (thing.colour)", "Item.Weight (thing.items[].weight)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	for _, documented := range []string{"Size", "Items", "Label", "ID"} {
		if strings.Contains(err.Error(), "."+documented+" (") {
			t.Errorf("%s is documented (its own comment, a line comment or a shared one) but reported:\n%v", documented, err)
		}
	}
}
