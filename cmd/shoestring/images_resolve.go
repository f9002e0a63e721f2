package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// resolveDigests turns each "<name>=<ref>" whose ref has no digest into "<name>=<ref>@<digest>",
// the digest the ref's registry serves for it now, so a stack file pins the exact image however
// its tag moves later. Credentials come from the docker config (`docker login`, as CI's login
// step writes it). Nothing is changed when one ref cannot be resolved.
func resolveDigests(ctx context.Context, images []string) ([]string, error) {
	out := make([]string, 0, len(images))
	for _, kv := range images {
		key, ref, ok := strings.Cut(kv, "=")
		if !ok || key == "" || ref == "" {
			return nil, fmt.Errorf("--image %q: write <service>=<ref>", kv)
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			return nil, fmt.Errorf("--image %s: %q is not an image reference: %v", kv, ref, err)
		}
		if _, digested := r.(name.Digest); digested {
			out = append(out, kv)
			continue
		}
		desc, err := remote.Head(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return nil, fmt.Errorf("--image %s: resolving the digest of %s: %v (check the tag was pushed, and log in to %s with docker login)", kv, ref, err, r.Context().RegistryStr())
		}
		out = append(out, key+"="+ref+"@"+desc.Digest.String())
	}
	return out, nil
}
