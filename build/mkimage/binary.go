package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// errDynamic is returned for a binary that needs a dynamic loader: the image
// has no libc, so it could not start.
var errDynamic = errors.New("dynamically linked (build it with CGO_ENABLED=0)")

// nonroot is the unprivileged user of binary images, as in distroless:
// deploy/cloudcore/deployment.yaml runs cloudcore as 65532.
var nonroot = owner{uid: 65532, gid: 65532, uname: "nonroot", gname: "nonroot"}

// Files every binary image has. Go programs built without cgo read
// /etc/passwd and /etc/group for os/user.
const (
	etcPasswd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	etcGroup = "root:x:0:\nnonroot:x:65532:\nnogroup:x:65534:\n"
	// caCertsPath is where crypto/x509 looks first on Linux.
	caCertsPath = "/etc/ssl/certs/ca-certificates.crt"
)

// binaryLayer is the root filesystem of an image that runs one static binary.
type binaryLayer struct {
	// binary is the executable, installed with mode 0755 at entrypoint, an
	// absolute path.
	binary     []byte
	entrypoint string
	// caCerts is a PEM bundle for caCertsPath; nil leaves it out.
	caCerts []byte
}

// build returns the layer as an uncompressed tar: the binary, /etc/passwd and
// /etc/group with root, nonroot (65532) and nobody, /home/nonroot (0700,
// owned by nonroot), /tmp (1777), the CA bundle if any, and the parent
// directories of each. Entries are sorted by name, so parents come first.
func (l binaryLayer) build() ([]byte, error) {
	if !path.IsAbs(l.entrypoint) || path.Clean(l.entrypoint) != l.entrypoint || l.entrypoint == "/" {
		return nil, fmt.Errorf("entrypoint %q: want a clean absolute file path", l.entrypoint)
	}
	root := tree{}
	files := []entry{
		{name: "etc/passwd", typeflag: tar.TypeReg, mode: 0o644, data: []byte(etcPasswd)},
		{name: "etc/group", typeflag: tar.TypeReg, mode: 0o644, data: []byte(etcGroup)},
		{name: "home/nonroot/", typeflag: tar.TypeDir, mode: 0o700, owner: &nonroot},
		{name: "tmp/", typeflag: tar.TypeDir, mode: 0o1777},
	}
	if l.caCerts != nil {
		files = append(files, entry{name: caCertsPath[1:], typeflag: tar.TypeReg, mode: 0o644, data: l.caCerts})
	}
	files = append(files, entry{name: l.entrypoint[1:], typeflag: tar.TypeReg, mode: 0o755, data: l.binary})
	for _, e := range files {
		if err := root.add(e); err != nil {
			return nil, err
		}
	}
	return writeTar(root.sorted())
}

// tree collects a layer's entries by path, with their parent directories.
type tree map[string]entry

// add adds e and any missing parent directory (0755, root). It fails when a
// path is there already, other than as a parent directory.
func (t tree) add(e entry) error {
	key := strings.TrimSuffix(e.name, "/")
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if p, ok := t[dir]; ok && p.typeflag != tar.TypeDir {
			return fmt.Errorf("/%s is a file and a parent directory of /%s", dir, key)
		}
		if _, ok := t[dir]; !ok {
			t[dir] = entry{name: dir + "/", typeflag: tar.TypeDir, mode: 0o755}
		}
	}
	if _, ok := t[key]; ok {
		return fmt.Errorf("/%s is in the image twice", key)
	}
	t[key] = e
	return nil
}

func (t tree) sorted() []entry {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	entries := make([]entry, len(keys))
	for i, k := range keys {
		entries[i] = t[k]
	}
	return entries
}

// checkStatic returns the GOARCH name of the ELF executable bin, or an error
// when it is not one or asks for a program interpreter (errDynamic).
func checkStatic(bin []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return "", fmt.Errorf("not an ELF executable: %w", err)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return "", fmt.Errorf("not an ELF executable: type %s", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		interp, _ := readInterp(p)
		return "", fmt.Errorf("%w: interpreter %s", errDynamic, interp)
	}
	return goArch(f)
}

func readInterp(p *elf.Prog) (string, error) {
	b := make([]byte, min(p.Filesz, 4096))
	n, err := p.ReadAt(b, 0)
	return strings.TrimRight(string(b[:n]), "\x00"), err
}

// goArch names f's machine as the OCI config's architecture field does
// (GOARCH), so a cross-built binary gets the right platform.
func goArch(f *elf.File) (string, error) {
	le := f.ByteOrder.String() == "LittleEndian"
	is64 := f.Class == elf.ELFCLASS64
	switch {
	case f.Machine == elf.EM_X86_64:
		return "amd64", nil
	case f.Machine == elf.EM_386:
		return "386", nil
	case f.Machine == elf.EM_AARCH64:
		return "arm64", nil
	case f.Machine == elf.EM_ARM:
		return "arm", nil
	case f.Machine == elf.EM_RISCV && is64:
		return "riscv64", nil
	case f.Machine == elf.EM_PPC64 && le:
		return "ppc64le", nil
	case f.Machine == elf.EM_S390:
		return "s390x", nil
	case f.Machine == elf.EM_LOONGARCH:
		return "loong64", nil
	}
	return "", fmt.Errorf("ELF machine %s (%s): no OCI architecture known", f.Machine, f.Class)
}

// checkUser accepts "uid" or "uid:gid", numeric: kubelet can verify
// runAsNonRoot only for a numeric image user.
func checkUser(user string) error {
	uid, gid, hasGID := strings.Cut(user, ":")
	ids := []string{uid}
	if hasGID {
		ids = append(ids, gid)
	}
	for _, id := range ids {
		if _, err := strconv.ParseUint(id, 10, 32); err != nil {
			return fmt.Errorf("user %q: want numeric uid[:gid]", user)
		}
	}
	return nil
}
