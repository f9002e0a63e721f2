package stacks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imageStack sets every image the program runs to img where key says so, and leaves the others at
// their defaults: services, backing services, the wait-for init containers, the edge, the DNS-sync
// controller and the dev-mode sidecar.
func imageStack(key, img string) map[string]string {
	pick := func(k, def string) string {
		if k == key {
			return img
		}
		return def
	}
	raw := map[string]string{
		"shoestring:cluster":  gke,
		"shoestring:services": `[{"name":"api","image":"` + pick("services[0].image", "ghcr.io/x/api:1.0.0") + `","ports":[{"name":"http","port":8080}]}]`,
		"shoestring:backing":  `[{"name":"redis","engine":"redis","mode":"in-cluster"` + optional("image", pick("backing[0].image", "")) + `}]`,
		"shoestring:dns":      dnsOK,
		"shoestring:dnssync":  `{"enabled":true` + optional("image", pick("dnssync.image", "")) + `}`,
		"shoestring:devMode":  `{"allowed":true` + optional("sidecarImage", pick("devMode.sidecarImage", "")) + `}`,
		"shoestring:secrets":  `{"dns-sync":{"CLOUDFLARE_API_TOKEN":"t"}}`,
	}
	if e := pick("edge.image", ""); e != "" {
		raw["shoestring:edge"] = `{"image":"` + e + `"}`
	}
	if w := pick("waitForImage", ""); w != "" {
		raw["shoestring:waitForImage"] = w
	}
	return raw
}

func optional(k, v string) string {
	if v == "" {
		return ""
	}
	return `,"` + k + `":"` + v + `"`
}

// TestEveryDefaultImageIsPinned: the defaults of every image key pass the same check as the images a
// stack names, so none of them is a moving tag.
func TestEveryDefaultImageIsPinned(t *testing.T) {
	c, err := Parse(imageStack("", ""), []string{"shoestring:secrets"})
	require.NoError(t, err)
	defaults := map[string]string{
		"backing[0].image":     c.Backing[0].Image,
		"waitForImage":         c.WaitForImage,
		"edge.image":           c.Edge.Image,
		"dnssync.image":        c.DNSSync.Image,
		"devMode.sidecarImage": c.DevMode.SidecarImage,
	}
	for key, img := range defaults {
		assert.NotEmpty(t, img, key)
		assert.Empty(t, checkImage(key, img), "default %s = %s", key, img)
		last := img[strings.LastIndex(img, "/")+1:]
		assert.Contains(t, last, ":", "default %s = %s has a tag", key, img)
		assert.NotContains(t, last, ":latest", "default %s = %s", key, img)
	}
}

// TestLatestIsRefusedForEveryImage: a moving tag, or no tag at all (which pulls latest), is refused
// for every image key, with the key, the value and the fix.
func TestLatestIsRefusedForEveryImage(t *testing.T) {
	for _, key := range []string{"services[0].image", "backing[0].image", "waitForImage", "edge.image", "dnssync.image", "devMode.sidecarImage"} {
		t.Run(key, func(t *testing.T) {
			_, err := Parse(imageStack(key, "registry.example.com/team/img:latest"), []string{"shoestring:secrets"})
			require.Error(t, err)
			assert.Contains(t, err.Error(), `shoestring:`+key+`: "registry.example.com/team/img:latest" uses the moving tag latest: environments could run different code; pin a release tag or a digest`)

			_, err = Parse(imageStack(key, "registry.example.com:5000/team/img"), []string{"shoestring:secrets"})
			require.Error(t, err)
			assert.Contains(t, err.Error(), `shoestring:`+key+`: "registry.example.com:5000/team/img" has no tag or digest`)

			_, err = Parse(imageStack(key, "registry.example.com:5000/team/img:1.2.3"), []string{"shoestring:secrets"})
			require.NoError(t, err, "a registry port is not a tag, a tag after the name is")
		})
	}
}
