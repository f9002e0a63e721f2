// Command configdoc writes docs/configuration.md, the configuration reference, from the schema's
// own source: it parses stacks/*.go, walks Config's embedded sections, their `config:"key"` fields
// and the nested `json` fields, and writes a section per top-level key with a table of path, type,
// default (from stacks.Default, where the schema sets one) and the field's doc comment. The
// reference therefore changes only with the schema, and a field without a comment is an error.
//
// It is a developer tool: `go generate ./stacks` or `make docs` runs it, and its test fails when
// the committed reference differs from what it writes.
package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/shoestring-dev/shoestring/stacks"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	out, err := Generate(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "configdoc:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(*root, OutputFile), out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "configdoc:", err)
		os.Exit(1)
	}
}

// OutputFile is the reference, relative to the repository root.
const OutputFile = "docs/configuration.md"

// schema is the parsed stacks package: its struct types and their doc comments.
type schema struct {
	fset    *token.FileSet
	structs map[string]*ast.StructType
	docs    map[string]string // type name -> doc comment
	// overrides is the doc comment of stacks.OverridesKey, the one key that is not a field.
	overrides string
}

func parseSchema(dir string) (*schema, error) {
	fset := token.NewFileSet()
	s := &schema{fset: fset, structs: map[string]*ast.StructType{}, docs: map[string]string{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if ok && g.Tok == token.CONST {
				for _, spec := range g.Specs {
					if vs := spec.(*ast.ValueSpec); vs.Names[0].Name == "OverridesKey" {
						s.overrides = cmp.Or(vs.Doc, g.Doc).Text()
					}
				}
			}
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, spec := range g.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				s.structs[ts.Name.Name] = st
				c := ts.Doc
				if c == nil && len(g.Specs) == 1 {
					c = g.Doc
				}
				s.docs[ts.Name.Name] = c.Text()
			}
		}
	}
	if s.structs["Config"] == nil {
		return nil, errors.New("no type Config in " + dir)
	}
	return s, nil
}

// row is one line of a section's table.
type row struct {
	path, typ, def, doc string
}

// section is one top-level key.
type section struct {
	key, doc string
	rows     []row
}

// walker collects the rows of the schema and the fields that lack a comment.
type walker struct {
	s         *schema
	undoc     []string
	defaultOf func(goPath []string) string
}

func fieldDoc(f *ast.Field) string {
	if t := strings.TrimSpace(f.Doc.Text()); t != "" {
		return t
	}
	return strings.TrimSpace(f.Comment.Text())
}

func jsonName(f *ast.Field, key string) string {
	if f.Tag == nil {
		return ""
	}
	tag := reflect.StructTag(strings.Trim(f.Tag.Value, "`"))
	n, ok := tag.Lookup(key)
	if !ok {
		return ""
	}
	n, _, _ = strings.Cut(n, ",")
	return n
}

// elem strips pointers, slices and maps from a type: the named type inside and the suffix the key
// path gets ("[]" for a list item, ".<name>" for a map value).
func (w *walker) elem(e ast.Expr) (name, suffix string) {
	switch t := e.(type) {
	case *ast.StarExpr:
		return w.elem(t.X)
	case *ast.ArrayType:
		n, s := w.elem(t.Elt)
		return n, "[]" + s
	case *ast.MapType:
		n, s := w.elem(t.Value)
		return n, ".<name>" + s
	case *ast.Ident:
		return t.Name, ""
	}
	return "", ""
}

// isObject says whether a named type is a struct the decoder walks into (one with json fields);
// other structs (Secret) are read from a single value.
func (w *walker) isObject(name string) bool {
	st := w.s.structs[name]
	if st == nil {
		return false
	}
	for _, f := range st.Fields.List {
		if jsonName(f, "json") != "" {
			return true
		}
	}
	return false
}

func (w *walker) typeString(e ast.Expr) string {
	name, suffix := w.elem(e)
	if w.isObject(name) {
		switch {
		case strings.HasPrefix(suffix, "[]"):
			return "list of objects"
		case strings.HasPrefix(suffix, "."):
			return "map of objects"
		}
		return "object"
	}
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X // optional in YAML either way
	}
	if name == "Secret" {
		return strings.ReplaceAll(types.ExprString(e), "Secret", "secret")
	}
	return types.ExprString(e)
}

// fields walks a struct's json fields, appending a row for each (and for the fields of nested
// objects below it). goPath is the Go field path from Config, nil once under a list or map (no
// default is known there).
func (w *walker) fields(typeName, keyPath string, goPath []string, rows *[]row) {
	st := w.s.structs[typeName]
	var prev *ast.Field
	prevDoc := ""
	for _, f := range st.Fields.List {
		f, before, beforeDoc := f, prev, prevDoc
		prev, prevDoc = f, ""
		if len(f.Names) == 0 { // embedded: its fields are this struct's
			if n, _ := w.elem(f.Type); w.isObject(n) {
				w.fields(n, keyPath, goPath, rows)
			}
			continue
		}
		name := jsonName(f, "json")
		if name == "" || name == "-" || !f.Names[0].IsExported() {
			continue
		}
		path := keyPath + "." + name
		d := fieldDoc(f)
		if d == "" {
			d = w.sharedDoc(before, beforeDoc, f)
		}
		prevDoc = d
		if d == "" {
			pos := w.s.fset.Position(f.Pos())
			w.undoc = append(w.undoc, fmt.Sprintf("%s:%d: %s.%s (%s)", filepath.Base(pos.Filename), pos.Line, typeName, f.Names[0].Name, path))
		}
		var gp []string
		if goPath != nil {
			gp = append(slices.Clone(goPath), f.Names[0].Name)
		}
		r := row{path: path, typ: w.typeString(f.Type), doc: d}
		if gp != nil {
			r.def = w.defaultOf(gp)
		}
		*rows = append(*rows, r)
		if n, suffix := w.elem(f.Type); w.isObject(n) {
			var next []string
			if suffix == "" {
				next = gp
			}
			w.fields(n, path+suffix, next, rows)
		}
	}
}

// sharedDoc is the comment of a group of fields declared on consecutive lines under one comment
// that names each of them ("ZoneID is the zone's id; Zone its name"): the previous field's doc,
// when it names this field (prevDoc: the previous field's doc, itself perhaps shared).
func (w *walker) sharedDoc(prev *ast.Field, d string, f *ast.Field) string {
	if prev == nil || len(prev.Names) == 0 {
		return ""
	}
	if d == "" || w.s.fset.Position(prev.End()).Line+1 != w.s.fset.Position(f.Pos()).Line {
		return ""
	}
	for _, word := range strings.FieldsFunc(d, func(r rune) bool {
		return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		if word == f.Names[0].Name {
			return d
		}
	}
	return ""
}

// defaultOf is the value stacks.Default gives the field at goPath, "" when it is the zero value.
func defaultOf(goPath []string) string {
	v := reflect.ValueOf(stacks.Default()).Elem()
	for _, name := range goPath {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return ""
			}
			v = v.Elem()
		}
		v = v.FieldByName(name)
		if !v.IsValid() {
			return ""
		}
	}
	if v.IsZero() || (v.Kind() == reflect.Struct) {
		return ""
	}
	if (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0 {
		return ""
	}
	if v.Kind() == reflect.String {
		return "`" + v.String() + "`"
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return ""
	}
	return "`" + string(b) + "`"
}

// collect walks Config: each embedded section's `config` fields are the top-level keys.
func collect(s *schema) ([]section, []string) {
	w := &walker{s: s, defaultOf: defaultOf}
	var out []section
	for _, emb := range s.structs["Config"].Fields.List {
		secType, _ := w.elem(emb.Type)
		st := s.structs[secType]
		if len(emb.Names) != 0 || st == nil {
			continue
		}
		for _, f := range st.Fields.List {
			key := jsonName(f, "config")
			if key == "" || len(f.Names) == 0 {
				continue
			}
			full := stacks.Namespace + ":" + key
			d := fieldDoc(f)
			n, suffix := w.elem(f.Type)
			if d == "" && w.isObject(n) {
				d = strings.TrimSpace(s.docs[n])
			}
			if d == "" {
				pos := s.fset.Position(f.Pos())
				w.undoc = append(w.undoc, fmt.Sprintf("%s:%d: %s.%s (%s)", filepath.Base(pos.Filename), pos.Line, secType, f.Names[0].Name, full))
			}
			sec := section{key: full, doc: d}
			if w.isObject(n) {
				var gp []string
				if suffix == "" {
					gp = []string{f.Names[0].Name}
				}
				w.fields(n, key+suffix, gp, &sec.rows)
			} else {
				sec.rows = append(sec.rows, row{path: key, typ: w.typeString(f.Type), def: defaultOf([]string{f.Names[0].Name}), doc: d})
			}
			out = append(out, sec)
		}
	}
	return out, w.undoc
}

// Generate returns the reference for the repository at root.
func Generate(root string) ([]byte, error) {
	s, err := parseSchema(filepath.Join(root, "stacks"))
	if err != nil {
		return nil, err
	}
	sections, undoc := collect(s)
	if len(undoc) > 0 {
		sort.Strings(undoc)
		return nil, fmt.Errorf("schema fields without a doc comment (say what the key means, its accepted values and its default where the schema has none):\n  %s",
			strings.Join(undoc, "\n  "))
	}
	if s.overrides == "" {
		return nil, errors.New("no documented const OverridesKey in the schema: say what shoestring:overrides does")
	}
	var b bytes.Buffer
	b.WriteString(`# Configuration reference

<!-- Generated by internal/configdoc from the schema in stacks/*.go: edit the field comments there,
then run ` + "`make docs`" + ` (or ` + "`go generate ./stacks`" + `). -->

Every key a stack file may set, section by section, from the schema's own field comments. How
configuration works (strict decoding, error messages, secrets, what differs between environments)
is in [configuration-guide.md](configuration-guide.md). Defaults shown are the schema's where it
sets one; a default that depends on other values is in the description.

`)
	b.WriteString("Top-level keys:")
	for _, sec := range sections {
		fmt.Fprintf(&b, " [`%s`](#%s)", sec.key, anchor(sec.key))
	}
	fmt.Fprintf(&b, " [`shoestring:overrides`](#%s)\n", anchor("shoestring:overrides"))
	for _, sec := range sections {
		fmt.Fprintf(&b, "\n## `%s`\n\n", sec.key)
		if sec.doc != "" && !(len(sec.rows) == 1 && sec.rows[0].doc == sec.doc) {
			b.WriteString(paragraph(sec.doc))
			b.WriteString("\n\n")
		}
		b.WriteString("| key | type | default | meaning |\n| --- | --- | --- | --- |\n")
		for _, r := range sec.rows {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.path, cell(r.typ), r.def, cell(oneLine(r.doc)))
		}
	}
	b.WriteString("\n## `shoestring:overrides`\n\n")
	b.WriteString(commentMarkdown(s.overrides))
	b.WriteString("\nThe merge and examples: [environments.md](environments.md).\n")
	return b.Bytes(), nil
}

// commentMarkdown turns a Go doc comment into Markdown: its indented lines become a YAML code block.
func commentMarkdown(c string) string {
	lines := strings.Split(strings.TrimRight(c, "\n"), "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "\t") {
			b.WriteString(lines[i] + "\n")
			continue
		}
		b.WriteString("```yaml\n")
		for ; i < len(lines) && strings.HasPrefix(lines[i], "\t"); i++ {
			b.WriteString(strings.TrimPrefix(lines[i], "\t") + "\n")
		}
		b.WriteString("```\n")
		i-- // the line after the block is written by the loop
	}
	return b.String()
}

// anchor is the GitHub heading anchor of "## `shoestring:key`".
func anchor(key string) string {
	return strings.ToLower(strings.ReplaceAll(key, ":", ""))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func paragraph(s string) string {
	var parts []string
	for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		parts = append(parts, text(oneLine(p)))
	}
	return strings.Join(parts, "\n\n")
}

func cell(s string) string { return strings.ReplaceAll(text(s), "|", `\|`) }

// text escapes what Markdown would read as HTML ("<name>") outside code spans.
func text(s string) string {
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(parts[i])
	}
	return strings.Join(parts, "`")
}
