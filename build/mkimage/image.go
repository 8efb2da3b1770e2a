package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// OCI media types and annotations (github.com/opencontainers/image-spec).
const (
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"

	annotationRefName = "org.opencontainers.image.ref.name"
	// annotationImageName is what containerd's importer reads first; with it
	// every containerd version names the image exactly ref.
	annotationImageName = "io.containerd.image.name"
)

// epoch is the timestamp of every file and of the image: fixed, so that
// rebuilding gives the same digests.
var epoch = time.Unix(0, 0).UTC()

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type blob struct {
	desc descriptor
	data []byte
}

func newBlob(mediaType string, data []byte) blob {
	return blob{desc: descriptor{MediaType: mediaType, Digest: digest(data), Size: int64(len(data))}, data: data}
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// entry is one file of a tar: a directory, a regular file or a symlink.
// Its owner is root unless owner is set.
type entry struct {
	name     string
	typeflag byte
	mode     int64
	linkname string
	data     []byte
	owner    *owner
}

// owner is a file's numeric and named user and group.
type owner struct {
	uid, gid     int
	uname, gname string
}

var rootOwner = owner{uname: "root", gname: "root"}

// buildLayer returns the root filesystem as an uncompressed tar: busybox in
// /bin with a relative symlink per applet, and the few files and directories a
// container expects.
func buildLayer(busybox []byte, applets []string) ([]byte, error) {
	entries := []entry{
		{name: "bin/", typeflag: tar.TypeDir, mode: 0o755},
		{name: "bin/busybox", typeflag: tar.TypeReg, mode: 0o755, data: busybox},
	}
	for _, a := range applets {
		entries = append(entries, entry{name: "bin/" + a, typeflag: tar.TypeSymlink, mode: 0o777, linkname: "busybox"})
	}
	for _, d := range []string{"dev/", "etc/", "proc/", "root/", "sys/", "usr/", "usr/bin/", "var/", "var/www/"} {
		entries = append(entries, entry{name: d, typeflag: tar.TypeDir, mode: 0o755})
	}
	entries = append(entries,
		entry{name: "tmp/", typeflag: tar.TypeDir, mode: 0o1777},
		entry{name: "etc/passwd", typeflag: tar.TypeReg, mode: 0o644,
			data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		entry{name: "etc/group", typeflag: tar.TypeReg, mode: 0o644,
			data: []byte("root:x:0:\nnogroup:x:65534:\n")},
	)
	return writeTar(entries)
}

func writeTar(entries []entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		o := rootOwner
		if e.owner != nil {
			o = *e.owner
		}
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typeflag, Mode: e.mode, Linkname: e.linkname,
			Size: int64(len(e.data)), ModTime: epoch, Uid: o.uid, Gid: o.gid, Uname: o.uname, Gname: o.gname,
			Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("tar write %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.ModTime = epoch // gzip header: no name, fixed time
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// runConfig is what an image runs and for which platform.
type runConfig struct {
	// arch is the GOARCH-style architecture of the image's binaries.
	arch string
	// entrypoint and cmd are the process's argv prefix and default
	// arguments; either may be empty.
	entrypoint, cmd []string
	// user is "uid[:gid]", or empty for root.
	user string
}

// buildLayout returns an OCI image layout (oci-layout, index.json,
// blobs/sha256/...) as a tar, for an image of the one layer running rc.
func buildLayout(layerTar []byte, ref string, rc runConfig) ([]byte, error) {
	layerGz, err := gzipBytes(layerTar)
	if err != nil {
		return nil, err
	}
	layer := newBlob(mediaTypeLayer, layerGz)
	config, err := marshalBlob(mediaTypeConfig, imageConfig(digest(layerTar), rc))
	if err != nil {
		return nil, err
	}
	manifest, err := marshalBlob(mediaTypeManifest, map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaTypeManifest,
		"config":        config.desc,
		"layers":        []descriptor{layer.desc},
	})
	if err != nil {
		return nil, err
	}
	mdesc := manifest.desc
	mdesc.Annotations = map[string]string{annotationRefName: ref, annotationImageName: ref}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaTypeIndex,
		"manifests":     []descriptor{mdesc},
	})
	if err != nil {
		return nil, err
	}
	entries := []entry{
		{name: "oci-layout", typeflag: tar.TypeReg, mode: 0o644, data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{name: "index.json", typeflag: tar.TypeReg, mode: 0o644, data: index},
		{name: "blobs/", typeflag: tar.TypeDir, mode: 0o755},
		{name: "blobs/sha256/", typeflag: tar.TypeDir, mode: 0o755},
	}
	for _, b := range []blob{layer, config, manifest} {
		entries = append(entries, entry{name: "blobs/sha256/" + b.desc.Digest[len("sha256:"):],
			typeflag: tar.TypeReg, mode: 0o644, data: b.data})
	}
	return writeTar(entries)
}

// imageConfig is the image's config blob. Keys of run that rc leaves
// empty are left out, so the busybox images' config has only Env, Cmd and
// WorkingDir.
func imageConfig(diffID string, rc runConfig) map[string]any {
	run := map[string]any{
		"Env":        []string{"PATH=" + defaultPath},
		"WorkingDir": "/",
	}
	if len(rc.entrypoint) > 0 {
		run["Entrypoint"] = rc.entrypoint
	}
	if len(rc.cmd) > 0 {
		run["Cmd"] = rc.cmd
	}
	if rc.user != "" {
		run["User"] = rc.user
	}
	return map[string]any{
		"created":      epoch.Format(time.RFC3339),
		"architecture": rc.arch,
		"os":           "linux",
		"config":       run,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history": []map[string]any{
			{"created": epoch.Format(time.RFC3339), "created_by": "tether build/mkimage"},
		},
	}
}

func marshalBlob(mediaType string, v any) (blob, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return blob{}, err
	}
	return newBlob(mediaType, data), nil
}
