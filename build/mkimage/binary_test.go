package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeELF returns a minimal little-endian ELF64 executable for machine with
// one PT_LOAD and, when interp is not empty, a PT_INTERP naming it.
func fakeELF(t *testing.T, machine elf.Machine, interp string) []byte {
	t.Helper()
	progs := []elf.Prog64{{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Align: 0x1000}}
	const hdrSize, progSize = 64, 56
	if interp != "" {
		off := uint64(hdrSize + 2*progSize)
		n := uint64(len(interp) + 1)
		progs = append([]elf.Prog64{{Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: off, Filesz: n, Memsz: n, Align: 1}}, progs...)
	}
	hdr := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Entry: 0x401000, Phoff: hdrSize, Ehsize: hdrSize, Phentsize: progSize, Phnum: uint16(len(progs)), Shentsize: 64,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, hdr); err != nil {
		t.Fatal(err)
	}
	if err := binary.Write(&buf, binary.LittleEndian, progs); err != nil {
		t.Fatal(err)
	}
	if interp != "" {
		buf.WriteString(interp + "\x00")
	}
	buf.WriteString("code")
	return buf.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// layout is an image layout tar read back: its index, the one manifest and
// config, and the layer's entries in order.
type layout struct {
	ref      string
	manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			Entrypoint, Cmd, Env []string
			User, WorkingDir     string
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	layer     []*tar.Header
	layerData map[string][]byte
	layerID   string // sha256 of the uncompressed layer
}

// readLayout reads an image layout tar, checking each blob against its
// digest and size.
func readLayout(t *testing.T, tarball []byte) layout {
	t.Helper()
	files := readTar(t, bytes.NewReader(tarball)).data
	if got := string(files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout %q", got)
	}
	blob := func(d descriptor, mediaType string) []byte {
		t.Helper()
		data, ok := files["blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:")]
		if !ok || digest(data) != d.Digest || int64(len(data)) != d.Size || d.MediaType != mediaType {
			t.Fatalf("blob %+v: present %v, digest %s, size %d; want media type %s", d, ok, digest(data), len(data), mediaType)
		}
		return data
	}
	var index struct {
		MediaType string       `json:"mediaType"`
		Manifests []descriptor `json:"manifests"`
	}
	var l layout
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 1 || index.MediaType != mediaTypeIndex {
		t.Fatalf("index.json %s: %v; want one manifest", files["index.json"], err)
	}
	m := index.Manifests[0]
	l.ref = m.Annotations[annotationRefName]
	if m.Annotations[annotationImageName] != l.ref {
		t.Errorf("index annotations %v: the two names differ", m.Annotations)
	}
	if err := json.Unmarshal(blob(m, mediaTypeManifest), &l.manifest); err != nil || len(l.manifest.Layers) != 1 {
		t.Fatalf("manifest: %v, %d layers; want one", err, len(l.manifest.Layers))
	}
	if err := json.Unmarshal(blob(l.manifest.Config, mediaTypeConfig), &l.config); err != nil {
		t.Fatalf("config: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob(l.manifest.Layers[0], mediaTypeLayer)))
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	l.layerID = digest(raw)
	lt := readTar(t, bytes.NewReader(raw))
	l.layer, l.layerData = lt.headers, lt.data
	return l
}

type tarFiles struct {
	headers []*tar.Header
	data    map[string][]byte
}

func readTar(t *testing.T, r io.Reader) tarFiles {
	t.Helper()
	tf := tarFiles{data: map[string][]byte{}}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tf
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar %s: %v", hdr.Name, err)
		}
		tf.headers = append(tf.headers, hdr)
		tf.data[hdr.Name] = data
	}
}

// buildBinary runs mkimage in binary mode with flags (before --) and args
// (after) and returns the tar it wrote.
func buildBinary(t *testing.T, flags []string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image.tar")
	argv := append(append(slices.Clone(flags), "-o", out, "--"), args...)
	if err := run(argv); err != nil {
		t.Fatalf("mkimage %v: %v", argv, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBinaryImage(t *testing.T) {
	bin := fakeELF(t, elf.EM_X86_64, "")
	certs := []byte("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
	flags := []string{
		"-binary", writeFile(t, "cloudcore", bin), "-entrypoint", "/usr/local/bin/cloudcore",
		"-user", "65532:65532", "-cacerts", writeFile(t, "ca.crt", certs), "-ref", "ghcr.io/tether-edge/cloudcore:v0.1.0",
	}
	l := readLayout(t, buildBinary(t, flags, "--defaultconfig"))

	if l.ref != "ghcr.io/tether-edge/cloudcore:v0.1.0" {
		t.Errorf("ref %q", l.ref)
	}
	c := l.config
	if c.Architecture != "amd64" || c.OS != "linux" {
		t.Errorf("platform %s/%s, want linux/amd64", c.OS, c.Architecture)
	}
	if !slices.Equal(c.Config.Entrypoint, []string{"/usr/local/bin/cloudcore"}) || !slices.Equal(c.Config.Cmd, []string{"--defaultconfig"}) ||
		c.Config.User != "65532:65532" || c.Config.WorkingDir != "/" || !slices.Equal(c.Config.Env, []string{"PATH=" + defaultPath}) {
		t.Errorf("run config %+v", c.Config)
	}
	if !slices.Equal(c.RootFS.DiffIDs, []string{l.layerID}) {
		t.Errorf("diff_ids %v, want the uncompressed layer's %s", c.RootFS.DiffIDs, l.layerID)
	}

	type file struct {
		typeflag byte
		mode     int64
		uid, gid int
	}
	dir, reg := func(mode int64) file { return file{tar.TypeDir, mode, 0, 0} }, func(mode int64) file { return file{tar.TypeReg, mode, 0, 0} }
	want := []struct {
		name string
		file
	}{
		{"etc/", dir(0o755)}, {"etc/group", reg(0o644)}, {"etc/passwd", reg(0o644)},
		{"etc/ssl/", dir(0o755)}, {"etc/ssl/certs/", dir(0o755)}, {"etc/ssl/certs/ca-certificates.crt", reg(0o644)},
		{"home/", dir(0o755)}, {"home/nonroot/", file{tar.TypeDir, 0o700, 65532, 65532}}, {"tmp/", dir(0o1777)},
		{"usr/", dir(0o755)}, {"usr/local/", dir(0o755)}, {"usr/local/bin/", dir(0o755)}, {"usr/local/bin/cloudcore", reg(0o755)},
	}
	if len(l.layer) != len(want) {
		var names []string
		for _, h := range l.layer {
			names = append(names, h.Name)
		}
		t.Fatalf("layer has %v, want %d entries", names, len(want))
	}
	for i, w := range want {
		h := l.layer[i]
		if h.Name != w.name || h.Typeflag != w.typeflag || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid || !h.ModTime.Equal(epoch) {
			t.Errorf("layer entry %d: %s type %c mode %o owner %d:%d time %v; want %s type %c mode %o owner %d:%d",
				i, h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime, w.name, w.typeflag, w.mode, w.uid, w.gid)
		}
	}
	for name, data := range map[string][]byte{"usr/local/bin/cloudcore": bin, "etc/ssl/certs/ca-certificates.crt": certs} {
		if !bytes.Equal(l.layerData[name], data) {
			t.Errorf("%s: %d bytes, not the input's %d", name, len(l.layerData[name]), len(data))
		}
	}
	if !strings.Contains(string(l.layerData["etc/passwd"]), "\nnonroot:x:65532:65532:") ||
		!strings.Contains(string(l.layerData["etc/group"]), "\nnonroot:x:65532:") {
		t.Errorf("no nonroot 65532 in /etc/passwd %q or /etc/group %q", l.layerData["etc/passwd"], l.layerData["etc/group"])
	}
}

// TestBinaryImageDefaults: no -entrypoint, -user, args or CA bundle.
func TestBinaryImageDefaults(t *testing.T) {
	flags := []string{"-binary", writeFile(t, "tool", fakeELF(t, elf.EM_AARCH64, "")), "-cacerts", "", "-ref", "x/tool:1"}
	l := readLayout(t, buildBinary(t, flags))
	c := l.config
	if c.Architecture != "arm64" || !slices.Equal(c.Config.Entrypoint, []string{"/usr/local/bin/tool"}) ||
		c.Config.Cmd != nil || c.Config.User != "65532:65532" {
		t.Errorf("config %+v, want arm64, entrypoint /usr/local/bin/tool, no Cmd, user 65532:65532", c)
	}
	if _, ok := l.layerData["etc/ssl/certs/ca-certificates.crt"]; ok {
		t.Error("CA bundle in the image with -cacerts \"\"")
	}
}

func TestBinaryImageDeterministic(t *testing.T) {
	flags := []string{"-binary", writeFile(t, "cloudcore", fakeELF(t, elf.EM_X86_64, "")), "-cacerts", "", "-ref", "r:1"}
	a, b := buildBinary(t, flags, "--defaultconfig"), buildBinary(t, flags, "--defaultconfig")
	if !bytes.Equal(a, b) {
		t.Fatalf("two builds of the same input differ (%d and %d bytes)", len(a), len(b))
	}
	other := buildBinary(t, flags, "--other")
	if readLayout(t, a).manifest.Config.Digest == readLayout(t, other).manifest.Config.Digest {
		t.Error("a different Cmd gives the same config digest")
	}
}

func TestBinaryImageRefused(t *testing.T) {
	static := writeFile(t, "static", fakeELF(t, elf.EM_X86_64, ""))
	dynamic := writeFile(t, "dynamic", fakeELF(t, elf.EM_X86_64, "/lib64/ld-linux-x86-64.so.2"))
	script := writeFile(t, "script", []byte("#!/bin/sh\necho hi\n"))
	missing := filepath.Join(t.TempDir(), "missing.crt")
	for _, tc := range []struct {
		name  string
		flags []string
		is    error  // want errors.Is(err, is), when set
		text  string // want the error to contain text
	}{
		{"dynamic", []string{"-binary", dynamic}, errDynamic, "interpreter /lib64/ld-linux-x86-64.so.2"},
		{"not ELF", []string{"-binary", script}, nil, "not an ELF executable"},
		{"unknown machine", []string{"-binary", writeFile(t, "m", fakeELF(t, elf.EM_VAX, ""))}, nil, "no OCI architecture"},
		{"busybox too", []string{"-binary", static, "-busybox", "/bin/busybox"}, nil, "give one"},
		{"user name", []string{"-binary", static, "-user", "nonroot"}, nil, "numeric"},
		{"user gid name", []string{"-binary", static, "-user", "65532:nonroot"}, nil, "numeric"},
		{"relative entrypoint", []string{"-binary", static, "-entrypoint", "bin/x"}, nil, "clean absolute"},
		{"unclean entrypoint", []string{"-binary", static, "-entrypoint", "/usr//bin/x"}, nil, "clean absolute"},
		{"entrypoint on passwd", []string{"-binary", static, "-entrypoint", "/etc/passwd"}, nil, "twice"},
		{"entrypoint on tmp", []string{"-binary", static, "-entrypoint", "/tmp"}, nil, "twice"},
		{"entrypoint under passwd", []string{"-binary", static, "-entrypoint", "/etc/passwd/x"}, nil, "is a file"},
		{"missing CA bundle", []string{"-binary", static, "-cacerts", missing}, nil, "missing.crt"},
		{"user in busybox mode", []string{"-user", "1"}, nil, "needs -binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image.tar")
			err := run(append(tc.flags, "-ref", "r:1", "-o", out, "--", "x"))
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err %v, want one containing %q", err, tc.text)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("output written despite the error: %v", err)
			}
		})
	}
}

func TestReadCACertsMissingDefault(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ca.crt")
	if certs, err := readCACerts(missing, false); certs != nil || err != nil {
		t.Errorf("missing default bundle: %q, %v; want none, no error", certs, err)
	}
	if _, err := readCACerts(missing, true); err == nil {
		t.Error("missing explicit bundle: no error")
	}
}

// TestBusyboxConfigUnchanged: the busybox images' run config has only Env,
// Cmd and WorkingDir, as before binary mode, so its digests stay the same.
func TestBusyboxConfigUnchanged(t *testing.T) {
	cfg := imageConfig("sha256:00", runConfig{arch: "amd64", cmd: []string{"sh"}})
	run := cfg["config"].(map[string]any)
	if keys := slices.Sorted(maps.Keys(run)); !slices.Equal(keys, []string{"Cmd", "Env", "WorkingDir"}) {
		t.Errorf("busybox run config keys %v, want Cmd Env WorkingDir", keys)
	}
}
