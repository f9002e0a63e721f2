package localimages

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// epoch is every file's and the image's time, so the same inputs give the same bytes.
var epoch = time.Unix(1700000000, 0).UTC()

// File is a file (or, with Link, a symlink; with Dir, a folder) the image adds over its root
// filesystem.
type File struct {
	Path string // absolute path in the image
	Mode int64  // permission bits (0: 0644 for files, 0755 for folders)
	Data []byte
	Link string // symlink target
	Dir  bool
	UID  int
	GID  int
}

// ImageConfig is the part of the OCI image config a container runtime reads.
type ImageConfig struct {
	User         string              `json:"User,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    map[string]string `json:"platform,omitempty"`
}

// hashWriter counts and hashes what passes through it.
type hashWriter struct {
	h hash.Hash
	n int64
	w io.Writer
}

func newHashWriter(w io.Writer) *hashWriter { return &hashWriter{h: sha256.New(), w: w} }

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

func (hw *hashWriter) digest() string { return "sha256:" + hex.EncodeToString(hw.h.Sum(nil)) }

// writeLayer writes one gzip layer: the entries of rootfs (a tar, may be nil) that no File
// replaces, then the Files. It returns the compressed digest and size and the uncompressed
// digest (the config's diff id).
func writeLayer(out io.Writer, rootfs io.Reader, files []File) (digest string, size int64, diffID string, err error) {
	compressed := newHashWriter(out)
	gz, err := gzip.NewWriterLevel(compressed, gzip.BestSpeed)
	if err != nil {
		return "", 0, "", err
	}
	plain := newHashWriter(gz)
	tw := tar.NewWriter(plain)

	replaced := map[string]bool{}
	for _, f := range files {
		replaced[clean(f.Path)] = true
	}
	if rootfs != nil {
		tr := tar.NewReader(rootfs)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return "", 0, "", fmt.Errorf("reading the root filesystem: %w", err)
			}
			name := clean(h.Name)
			// The runtime makes /dev and /proc; device nodes in a layer only get in the way.
			if replaced[name] || h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock || h.Typeflag == tar.TypeFifo {
				continue
			}
			h.Name = "./" + name
			if h.Typeflag == tar.TypeDir {
				h.Name += "/"
			}
			if h.Typeflag == tar.TypeLink {
				h.Linkname = "./" + clean(h.Linkname)
			}
			h.ModTime, h.AccessTime, h.ChangeTime = epoch, time.Time{}, time.Time{}
			h.Format = tar.FormatPAX
			h.PAXRecords = keepXattrs(h.PAXRecords)
			if err := tw.WriteHeader(h); err != nil {
				return "", 0, "", err
			}
			if _, err := io.Copy(tw, tr); err != nil {
				return "", 0, "", err
			}
		}
	}
	// A later File of the same path replaces an earlier one.
	last := map[string]int{}
	for i, f := range files {
		last[clean(f.Path)] = i
	}
	var sorted []File
	for i, f := range files {
		if last[clean(f.Path)] == i {
			sorted = append(sorted, f)
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool { return clean(sorted[i].Path) < clean(sorted[j].Path) })
	for _, f := range sorted {
		h := &tar.Header{Name: "./" + clean(f.Path), ModTime: epoch, Uid: f.UID, Gid: f.GID, Format: tar.FormatPAX}
		switch {
		case f.Dir:
			h.Typeflag, h.Mode, h.Name = tar.TypeDir, orMode(f.Mode, 0o755), h.Name+"/"
		case f.Link != "":
			h.Typeflag, h.Mode, h.Linkname = tar.TypeSymlink, 0o777, f.Link
		default:
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, orMode(f.Mode, 0o644), int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return "", 0, "", err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return "", 0, "", err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, "", err
	}
	if err := gz.Close(); err != nil {
		return "", 0, "", err
	}
	return compressed.digest(), compressed.n, plain.digest(), nil
}

// keepXattrs keeps the extended attributes (file capabilities) and drops the rest, such as
// mmdebstrap's access times.
func keepXattrs(r map[string]string) map[string]string {
	var out map[string]string
	for k, v := range r {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func orMode(m, def int64) int64 {
	if m == 0 {
		return def
	}
	return m
}

// writeOCIArchive writes an OCI image layout as a tar (what `ctr images import` reads): the
// layer (already written to layerPath), the config and manifest, and index.json naming the image.
func writeOCIArchive(out io.Writer, name string, cfg ImageConfig, layerPath, layerDigest string, layerSize int64, diffID string) error {
	config, err := json.Marshal(map[string]any{
		"created":      epoch.Format(time.RFC3339),
		"architecture": "amd64",
		"os":           "linux",
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history":      []map[string]any{{"created": epoch.Format(time.RFC3339), "created_by": "shoestring localimages"}},
	})
	if err != nil {
		return err
	}
	configDesc := blobDescriptor("application/vnd.oci.image.config.v1+json", config)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        configDesc,
		"layers": []descriptor{{
			MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: layerDigest, Size: layerSize,
		}},
	})
	if err != nil {
		return err
	}
	manifestDesc := blobDescriptor("application/vnd.oci.image.manifest.v1+json", manifest)
	tag := name[strings.LastIndex(name, ":")+1:]
	manifestDesc.Annotations = map[string]string{
		"io.containerd.image.name":          name,
		"org.opencontainers.image.ref.name": tag,
	}
	manifestDesc.Platform = map[string]string{"architecture": "amd64", "os": "linux"}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     []descriptor{manifestDesc},
	})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(out)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := add("index.json", index); err != nil {
		return err
	}
	if err := add(blobPath(configDesc.Digest), config); err != nil {
		return err
	}
	if err := add(blobPath(manifestDesc.Digest), manifest); err != nil {
		return err
	}
	f, err := os.Open(layerPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Name: blobPath(layerDigest), Mode: 0o644, Size: layerSize, ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	return tw.Close()
}

func blobDescriptor(mediaType string, data []byte) descriptor {
	sum := sha256.Sum256(data)
	return descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

func blobPath(digest string) string { return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:") }
