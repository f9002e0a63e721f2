// Package pulumimock is test support: it evaluates a Pulumi program with mocks standing in for the
// engine and records every resource it registers, with its inputs. Unit tests assert on the record;
// mockrender turns it into manifests for the golden files.
package pulumimock

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Project is the Pulumi project name the mocks run under (Pulumi.yaml's name).
const Project = "shoestring"

// Resource is one registered resource as the engine would have seen it.
type Resource struct {
	Type      string // e.g. "kubernetes:apps/v1:Deployment"
	Name      string // logical name
	URN       string
	Parent    string // URN of the parent ("" for the stack itself)
	Provider  string // provider reference, "" for the default provider
	Custom    bool   // false for component resources
	DependsOn []string
	Inputs    resource.PropertyMap
}

// Plain is the resource's inputs as plain Go values, secrets unwrapped.
func (r Resource) Plain() map[string]any { return Plain(r.Inputs) }

// Record is what one evaluation registered, in registration order.
type Record struct {
	mu        sync.Mutex
	Resources []Resource
}

// ByType lists the resources of one type token, sorted by name for stable assertions.
func (r *Record) ByType(typ string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// One returns the resource of a type and logical name, or an error naming what exists.
func (r *Record) One(typ, name string) (Resource, error) {
	var names []string
	for _, res := range r.Resources {
		if res.Type == typ {
			if res.Name == name {
				return res, nil
			}
			names = append(names, res.Name)
		}
	}
	return Resource{}, fmt.Errorf("no %s named %q (have %v)", typ, name, names)
}

// Types lists the distinct type tokens registered.
func (r *Record) Types() []string {
	seen := map[string]bool{}
	for _, res := range r.Resources {
		seen[res.Type] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

type mocks struct {
	rec   *Record
	stack string
}

// urn is the URN the mock engine hands out (and DependsOn/Parent refer to): the parent's type
// is part of it, as in the real engine.
func (m mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stack), tokens.PackageName(Project), parentType, tokens.Type(typ), name))
}

func (m mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	res := Resource{Type: args.TypeToken, Name: args.Name, Provider: args.Provider, Custom: args.Custom, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		res.Parent = rpc.GetParent()
		res.DependsOn = rpc.GetDependencies()
		res.URN = m.urn(res.Parent, args.TypeToken, args.Name)
	}
	m.rec.mu.Lock()
	m.rec.Resources = append(m.rec.Resources, res)
	m.rec.mu.Unlock()
	return args.Name + "-id", outputs(args.TypeToken, args.Inputs), nil
}

func (m mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

// MockOriginCACertificate is the certificate the mock Origin CA "issues" (not a PEM: nothing here may
// pass for a real certificate).
const MockOriginCACertificate = "mock-origin-ca-certificate"

// outputs are what a provider would return that the program reads: a Kubernetes object's metadata
// (the program reads names and namespaces back, never the rest of an object), every input of other
// resources, and the values a provider computes. Echoing whole Kubernetes objects back would make
// the SDK decode every pod template a second time for nothing.
func outputs(typ string, inputs resource.PropertyMap) resource.PropertyMap {
	if strings.HasPrefix(typ, "kubernetes:") {
		out := resource.PropertyMap{}
		if m, ok := inputs["metadata"]; ok {
			out["metadata"] = m
		}
		return out
	}
	out := inputs.Copy()
	switch typ {
	case "gcp:container/cluster:Cluster":
		out["endpoint"] = resource.NewStringProperty("203.0.113.10")
		out["masterAuth"] = resource.NewObjectProperty(resource.PropertyMap{
			"clusterCaCertificate": resource.NewStringProperty("bW9jay1jYQ=="),
		})
	case "cloudflare:index/originCaCertificate:OriginCaCertificate":
		out["certificate"] = resource.NewStringProperty(MockOriginCACertificate)
		out["expiresOn"] = resource.NewStringProperty("2041-01-01 00:00:00 +0000 UTC")
	}
	return out
}

// Run evaluates program with mocks as stack `stack` and returns what it registered. The program's
// error, if any, is returned with the partial record.
func Run(stack string, program pulumi.RunFunc) (*Record, error) {
	rec := &Record{}
	err := pulumi.RunErr(program, pulumi.WithMocks(Project, stack, mocks{rec: rec, stack: stack}))
	return rec, err
}

// Plain converts a property map to plain Go values (maps, slices, strings, float64, bool), with
// secrets unwrapped and unknown values as nil.
func Plain(props resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range props {
		out[string(k)] = plainValue(v)
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	return v.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		switch {
		case v.IsSecret():
			return plainValue(v.SecretValue().Element), true
		case v.IsOutput():
			if !v.OutputValue().Known {
				return nil, true
			}
			return plainValue(v.OutputValue().Element), true
		case v.IsComputed():
			return nil, true
		}
		return nil, false
	})
}

// IsSecret reports whether the input at a dotted path (e.g. "stringData.TOKEN") is a secret, or
// lies inside one.
func IsSecret(props resource.PropertyMap, path string) bool {
	v := resource.NewObjectProperty(props)
	for _, part := range strings.Split(path, ".") {
		if v.IsSecret() {
			return true
		}
		if v.IsOutput() && v.OutputValue().Secret {
			return true
		}
		if v.IsOutput() {
			v = v.OutputValue().Element
		}
		if !v.IsObject() {
			return false
		}
		v = v.ObjectValue()[resource.PropertyKey(part)]
	}
	return v.IsSecret() || (v.IsOutput() && v.OutputValue().Secret)
}
