// Package mockrender is test support: it evaluates the Pulumi program for a stack with mocks
// standing in for the engine and writes what it would deploy as plain files: every Kubernetes
// object as a manifest, the order the program's dependencies impose (as pulumi-kubernetes honours
// them), and a summary of the GCP and Cloudflare resources. The same config renders the same bytes,
// so the renders of the shipped stacks are committed as golden files (testdata/golden) and any
// change of the program's output shows up in review. No production path uses it: deployments and
// previews go through the real engine (internal/engine).
package mockrender

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"sigs.k8s.io/yaml"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/testing/pulumimock"
	"github.com/shoestring-dev/shoestring/stacks"
)

// Files a render writes into its folder.
const (
	OrderFile     = "order.json"
	CloudFile     = "cloud.json"
	ManifestsDir  = "manifests"
	clusterScoped = "_cluster" // manifests folder of objects without a namespace
)

// Object is one Kubernetes object of a render.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	File       string `json:"file"` // relative to the render folder
	// DependsOn are the files of the objects this one waits for (the program's dependencies).
	DependsOn []string `json:"dependsOn,omitempty"`

	URN      string         `json:"-"`
	Manifest map[string]any `json:"-"`
}

// Ref names the object for messages: Kind namespace/name.
func (o *Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// CloudResource is a GCP or Cloudflare resource the program would create.
type CloudResource struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Inputs map[string]any `json:"inputs"`
}

// Order is order.json: the objects with their dependencies, each after what it depends on (then
// by kind, namespace and name), so a change of the program's ordering shows in review.
type Order struct {
	Stack   string   `json:"stack"`
	Objects []Object `json:"objects"`
}

// Render is a stack's evaluated program.
type Render struct {
	Order Order
	Cloud []CloudResource
}

// StackFile renders the stack in a Pulumi.<stack>.yaml file; stack is its name (the name the
// program runs under; it never changes what the program does).
func StackFile(path, stack string) (*Render, error) {
	cfg, err := stacks.LoadStackFile(path)
	if err != nil {
		return nil, err
	}
	rec, err := pulumimock.Run(stack, func(ctx *pulumi.Context) error { return program.Deploy(ctx, cfg) })
	if err != nil {
		return nil, fmt.Errorf("evaluating the program for %s: %w", path, err)
	}
	return FromRecord(stack, rec)
}

// FromRecord turns what a mocked evaluation registered into a render.
func FromRecord(stack string, rec *pulumimock.Record) (*Render, error) {
	r := &Render{Order: Order{Stack: stack}}
	byURN := map[string]*pulumimock.Resource{}
	for i := range rec.Resources {
		byURN[rec.Resources[i].URN] = &rec.Resources[i]
	}
	objects := map[string]*Object{} // by URN
	files := map[string]string{}    // file -> URN, to refuse two objects in one file
	for _, res := range rec.Resources {
		if !res.Custom {
			continue
		}
		apiVersion, kind, ok, err := kubernetesType(res.Type)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", res.Type, res.Name, err)
		}
		if !ok {
			if isCloud(res.Type) {
				inputs, err := plain(res.Inputs, nil)
				if err != nil {
					return nil, fmt.Errorf("%s %q: %w", res.Type, res.Name, err)
				}
				r.Cloud = append(r.Cloud, CloudResource{Type: res.Type, Name: res.Name, Inputs: inputs.(map[string]any)})
			}
			continue
		}
		o, err := object(res, apiVersion, kind)
		if err != nil {
			return nil, err
		}
		if other, dup := files[o.File]; dup {
			return nil, fmt.Errorf("two resources render to %s (%s and %s): give them distinct metadata.name or namespace", o.File, other, res.URN)
		}
		files[o.File] = res.URN
		objects[res.URN] = o
	}
	sort.Slice(r.Cloud, func(i, j int) bool {
		if r.Cloud[i].Type != r.Cloud[j].Type {
			return r.Cloud[i].Type < r.Cloud[j].Type
		}
		return r.Cloud[i].Name < r.Cloud[j].Name
	})

	// Dependencies between objects, through any resources in between (a dependency on a
	// component was already expanded to its children by the SDK): the transitive closure of
	// DependsOn, kept as one bit per object and shared between resources that reach the same ones.
	urns := slices.Sorted(maps.Keys(objects))
	bit := make(map[string]int, len(urns))
	for i, u := range urns {
		bit[u] = i
	}
	words := (len(urns) + 63) / 64
	reach := map[string][]uint64{}
	var closure func(u string) []uint64
	closure = func(u string) []uint64 {
		if r, ok := reach[u]; ok {
			return r
		}
		r := make([]uint64, words)
		reach[u] = r // a cycle (the engine refuses them) ends here instead of looping
		if res := byURN[u]; res != nil {
			for _, d := range res.DependsOn {
				if i, isObj := bit[d]; isObj {
					r[i/64] |= 1 << (i % 64)
				}
				for w, b := range closure(d) {
					r[w] |= b
				}
			}
		}
		return r
	}
	deps := make(map[string][]string, len(urns))
	for _, urn := range urns {
		r := closure(urn)
		for i, d := range urns {
			if r[i/64]&(1<<(i%64)) != 0 && d != urn {
				deps[urn] = append(deps[urn], d)
			}
		}
	}
	// Namespaces go first; an object in a namespace the program creates depends on it even
	// without saying so (pulumi-kubernetes retries until it exists; apply does not).
	nsURN := map[string]string{}
	for urn, o := range objects {
		if o.APIVersion == "v1" && o.Kind == "Namespace" {
			nsURN[o.Name] = urn
		}
	}
	for urn, o := range objects {
		if u, ok := nsURN[o.Namespace]; ok && u != urn && !slices.Contains(deps[urn], u) {
			deps[urn] = append(deps[urn], u)
		}
	}

	// Depth: an object comes after the deepest of its dependencies.
	depth := map[string]int{}
	visiting := map[string]bool{}
	var level func(u string) (int, error)
	level = func(u string) (int, error) {
		if w, ok := depth[u]; ok {
			return w, nil
		}
		if visiting[u] {
			return 0, fmt.Errorf("dependency cycle through %s", objects[u].Ref())
		}
		visiting[u] = true
		w := 0
		for _, d := range deps[u] {
			dw, err := level(d)
			if err != nil {
				return 0, err
			}
			if dw+1 > w {
				w = dw + 1
			}
		}
		visiting[u] = false
		depth[u] = w
		return w, nil
	}
	for u, o := range objects {
		if _, err := level(u); err != nil {
			return nil, err
		}
		for _, d := range deps[u] {
			o.DependsOn = append(o.DependsOn, objects[d].File)
		}
		sort.Strings(o.DependsOn)
	}
	order := make([]string, 0, len(objects))
	for u := range objects {
		order = append(order, u)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if depth[a] != depth[b] {
			return depth[a] < depth[b]
		}
		return lessObject(objects[a], objects[b])
	})
	for _, u := range order {
		r.Order.Objects = append(r.Order.Objects, *objects[u])
	}
	return r, nil
}

// kindPriority orders the kinds of the same depth the way kubectl and Helm do: what others refer
// to first, workloads last.
var kindPriority = map[string]int{
	"Namespace": 0, "CustomResourceDefinition": 1, "PriorityClass": 2, "StorageClass": 2,
	"ServiceAccount": 3, "ClusterRole": 4, "Role": 4, "ClusterRoleBinding": 5, "RoleBinding": 5,
	"Secret": 6, "ConfigMap": 6, "PersistentVolumeClaim": 7, "Service": 8,
	"DaemonSet": 9, "Deployment": 9, "StatefulSet": 9, "Job": 10, "CronJob": 10,
	"Ingress": 11, "NetworkPolicy": 11, "PodDisruptionBudget": 11,
}

func priority(kind string) int {
	if p, ok := kindPriority[kind]; ok {
		return p
	}
	return 8
}

func lessObject(a, b *Object) bool {
	if pa, pb := priority(a.Kind), priority(b.Kind); pa != pb {
		return pa < pb
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// kubernetesType maps a pulumi-kubernetes type token to apiVersion and kind:
// kubernetes:apps/v1:Deployment -> apps/v1 Deployment, kubernetes:core/v1:Service -> v1 Service.
// ok is false for tokens that are not Kubernetes objects (other providers, the provider itself).
func kubernetesType(token string) (apiVersion, kind string, ok bool, err error) {
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" {
		return "", "", false, nil
	}
	gv, kind := parts[1], parts[2]
	group, version, found := strings.Cut(gv, "/")
	if !found {
		// kubernetes:yaml:ConfigFile, kubernetes:helm.sh/v3:Release and similar are not objects.
		return "", "", false, fmt.Errorf("render knows only Kubernetes object types (kubernetes:<group>/<version>:<Kind>); build the objects in Go instead")
	}
	if group == "helm.sh" {
		return "", "", false, fmt.Errorf("a Helm release cannot be rendered without the provider; build the objects in Go instead")
	}
	if strings.HasSuffix(kind, "Patch") || strings.HasSuffix(kind, "List") {
		return "", "", false, fmt.Errorf("%s resources are not rendered; use the full object instead", kind)
	}
	if group == "core" {
		return version, kind, true, nil
	}
	return group + "/" + version, kind, true, nil
}

func isCloud(token string) bool {
	return strings.HasPrefix(token, "gcp:") || strings.HasPrefix(token, "cloudflare:")
}

func object(res pulumimock.Resource, apiVersion, kind string) (*Object, error) {
	v, err := plain(res.Inputs, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", res.Type, res.Name, err)
	}
	m := v.(map[string]any)
	m["apiVersion"], m["kind"] = apiVersion, kind
	if kind == "Secret" && apiVersion == "v1" {
		// A secret value in .data must still be base64 for the apiserver to accept it.
		if data, ok := m["data"].(map[string]any); ok {
			for k, val := range data {
				if val == stacks.SecretPlaceholder {
					data[k] = base64.StdEncoding.EncodeToString([]byte(stacks.SecretPlaceholder))
				}
			}
		}
	}
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		return nil, fmt.Errorf("%s %q: metadata.name is not set; every object sets its name explicitly (DEVELOPERS.md: no auto-naming)", res.Type, res.Name)
	}
	ns, _ := meta["namespace"].(string)
	folder := ns
	if folder == "" {
		folder = clusterScoped
	}
	return &Object{
		APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name, URN: res.URN, Manifest: m,
		File: filepath.ToSlash(filepath.Join(ManifestsDir, folder, strings.ToLower(kind)+"-"+name+".yaml")),
	}, nil
}

// plain converts inputs to plain values with every secret replaced by stacks.SecretPlaceholder,
// so no real secret ever reaches a file. An unknown value is an error: a render must be complete.
func plain(props resource.PropertyMap, path []string) (any, error) {
	v, err := plainValue(resource.NewObjectProperty(props), false)
	if e, ok := err.(*valueError); ok {
		return nil, e.withPrefix(path)
	}
	return v, err
}

// valueError is a value that cannot be rendered. Its path is gathered while the error returns, so
// the walk over every property allocates nothing for paths when all is well.
type valueError struct {
	reversed []string // innermost key first
	problem  string
}

func (e *valueError) Error() string {
	path := slices.Clone(e.reversed)
	slices.Reverse(path)
	return strings.Join(path, ".") + e.problem
}

func (e *valueError) under(key string) error {
	e.reversed = append(e.reversed, key)
	return e
}

func (e *valueError) withPrefix(prefix []string) error {
	for i := len(prefix) - 1; i >= 0; i-- {
		e.reversed = append(e.reversed, prefix[i])
	}
	return e
}

func plainValue(v resource.PropertyValue, secret bool) (any, error) {
	switch {
	case v.IsSecret():
		return plainValue(v.SecretValue().Element, true)
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return nil, &valueError{problem: " is unknown during render"}
		}
		return plainValue(o.Element, secret || o.Secret)
	case v.IsComputed():
		return nil, &valueError{problem: " is unknown during render"}
	case v.IsObject():
		obj := v.ObjectValue()
		out := make(map[string]any, len(obj))
		for k, e := range obj {
			pv, err := plainValue(e, secret)
			if err != nil {
				return nil, err.(*valueError).under(string(k))
			}
			out[string(k)] = pv
		}
		return out, nil
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, 0, len(arr))
		for i, e := range arr {
			pv, err := plainValue(e, secret)
			if err != nil {
				return nil, err.(*valueError).under(strconv.Itoa(i))
			}
			out = append(out, pv)
		}
		return out, nil
	case v.IsString():
		if secret {
			return stacks.SecretPlaceholder, nil
		}
		return v.StringValue(), nil
	case v.IsNumber():
		f := v.NumberValue()
		if f == float64(int64(f)) {
			return int64(f), nil
		}
		return f, nil
	case v.IsBool():
		return v.BoolValue(), nil
	case v.IsNull():
		return nil, nil
	case v.IsResourceReference():
		ref := v.ResourceReferenceValue()
		if id, ok := ref.ID.V.(string); ok && ref.ID.IsString() {
			return id, nil
		}
		return string(ref.URN), nil
	case v.IsAsset() || v.IsArchive():
		return nil, &valueError{problem: ": assets and archives are not rendered"}
	}
	return nil, &valueError{problem: fmt.Sprintf(": unsupported value %v", v)}
}

// Write writes the render into dir, replacing an earlier render there: the manifests, order.json
// and cloud.json.
func (r *Render) Write(dir string) error {
	if err := os.RemoveAll(filepath.Join(dir, ManifestsDir)); err != nil {
		return err
	}
	for _, o := range r.Order.Objects {
		b, err := yaml.Marshal(o.Manifest)
		if err != nil {
			return fmt.Errorf("%s: %w", o.Ref(), err)
		}
		path := filepath.Join(dir, filepath.FromSlash(o.File))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, OrderFile), r.Order); err != nil {
		return err
	}
	cloud := r.Cloud
	if cloud == nil {
		cloud = []CloudResource{}
	}
	return writeJSON(filepath.Join(dir, CloudFile), cloud)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadOrder reads a render's order.json.
func ReadOrder(dir string) (*Order, error) {
	b, err := os.ReadFile(filepath.Join(dir, OrderFile))
	if err != nil {
		return nil, fmt.Errorf("%w (no render in %s: Render.Write makes one)", err, dir)
	}
	var o Order
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, OrderFile), err)
	}
	return &o, nil
}
