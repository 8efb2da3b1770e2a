// Command mkimage packs a static binary into a one-layer OCI image and writes
// it as an OCI image layout tar that `ctr images import`, `docker load` and
// `skopeo copy oci-archive:` accept. It has two modes.
//
// Busybox mode packs a static busybox with a link per applet and runs CMD.
// The tests cannot pull images (no internet), so build/test-images.sh uses it
// to make the busybox and pause images the CRI tests run:
//
//	mkimage -busybox /bin/busybox -ref tether.local/busybox:test -o busybox.tar -- sh
//
// Binary mode packs one statically linked program (it refuses one with an ELF
// program interpreter) at -entrypoint, mode 0755, with /etc/passwd and
// /etc/group naming user nonroot (65532), /home/nonroot, /tmp (1777) and the
// host's CA bundle if it has one. The image runs the entrypoint with ARGs as
// its Cmd, as -user (numeric), in /, for the binary's ELF architecture.
// build/cloudcore-image.sh uses it:
//
//	mkimage -binary cloudcore -entrypoint /usr/local/bin/cloudcore -user 65532:65532 \
//	    -ref ghcr.io/tether-edge/cloudcore:v0.1.0 -o cloudcore.tar
//
// The output depends only on the input files and the flags: every timestamp,
// owner and order is fixed, so the same input gives the same digests.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// requiredApplets are the applets the tests rely on; mkimage fails when the
// busybox binary lacks one.
var requiredApplets = []string{"sh", "echo", "sleep", "cat", "wget", "nc", "httpd", "ls", "true"}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  mkimage [-busybox FILE] -ref NAME -o FILE -- CMD [ARG...]
  mkimage -binary FILE [-entrypoint PATH] [-user UID[:GID]] [-cacerts FILE] -ref NAME -o FILE [-- ARG...]`

// options are mkimage's flags.
type options struct {
	busybox, binary, entrypoint, user, caCerts string
	ref, out                                   string
	args                                       []string
	// set holds the flags given on the command line.
	set map[string]bool
}

func run(args []string) error {
	flags := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	var o options
	flags.StringVar(&o.busybox, "busybox", "/bin/busybox", "static busybox binary to pack (busybox mode)")
	flags.StringVar(&o.binary, "binary", "", "static binary to pack alone (binary mode)")
	flags.StringVar(&o.entrypoint, "entrypoint", "", "binary mode: where the binary goes and what runs (default /usr/local/bin/<name of -binary>)")
	flags.StringVar(&o.user, "user", "65532:65532", "binary mode: numeric uid[:gid] the image runs as")
	flags.StringVar(&o.caCerts, "cacerts", caCertsPath, "binary mode: CA bundle to copy to "+caCertsPath+
		"; left out when this default is missing, or when empty")
	flags.StringVar(&o.ref, "ref", "", "image reference stored in index.json, e.g. tether.local/busybox:test")
	flags.StringVar(&o.out, "o", "", "output tar file")
	if err := flags.Parse(args); err != nil {
		return err
	}
	o.args = flags.Args()
	o.set = map[string]bool{}
	flags.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if o.ref == "" || o.out == "" {
		return errors.New(usage)
	}
	var tarball []byte
	var err error
	if o.binary != "" {
		tarball, err = binaryImage(o)
	} else {
		tarball, err = busyboxImage(o)
	}
	if err != nil {
		return err
	}
	return writeAtomic(o.out, tarball)
}

// busyboxImage packs busybox and its applets, running o.args.
func busyboxImage(o options) ([]byte, error) {
	for _, name := range []string{"entrypoint", "user", "cacerts"} {
		if o.set[name] {
			return nil, fmt.Errorf("-%s needs -binary", name)
		}
	}
	if len(o.args) == 0 {
		return nil, errors.New(usage)
	}
	bin, err := os.ReadFile(o.busybox)
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	applets, err := listApplets(o.busybox)
	if err != nil {
		return nil, err
	}
	layer, err := buildLayer(bin, applets)
	if err != nil {
		return nil, fmt.Errorf("build layer: %w", err)
	}
	tarball, err := buildLayout(layer, o.ref, runConfig{arch: runtime.GOARCH, cmd: o.args})
	if err != nil {
		return nil, fmt.Errorf("build image layout: %w", err)
	}
	return tarball, nil
}

// binaryImage packs the static binary o.binary at o.entrypoint, running it
// with o.args as user o.user.
func binaryImage(o options) ([]byte, error) {
	if o.set["busybox"] {
		return nil, errors.New("-busybox and -binary: give one")
	}
	if err := checkUser(o.user); err != nil {
		return nil, err
	}
	if o.entrypoint == "" {
		o.entrypoint = "/usr/local/bin/" + filepath.Base(o.binary)
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	arch, err := checkStatic(bin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.binary, err)
	}
	certs, err := readCACerts(o.caCerts, o.set["cacerts"])
	if err != nil {
		return nil, err
	}
	layer, err := binaryLayer{binary: bin, entrypoint: o.entrypoint, caCerts: certs}.build()
	if err != nil {
		return nil, fmt.Errorf("build layer: %w", err)
	}
	rc := runConfig{arch: arch, entrypoint: []string{o.entrypoint}, cmd: o.args, user: o.user}
	tarball, err := buildLayout(layer, o.ref, rc)
	if err != nil {
		return nil, fmt.Errorf("build image layout: %w", err)
	}
	return tarball, nil
}

// readCACerts reads the CA bundle at file. An empty file, or a missing file
// that was not asked for explicitly, gives none.
func readCACerts(file string, explicit bool) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	certs, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		fmt.Fprintf(os.Stderr, "mkimage: no %s: the image has no CA certificates\n", file)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	return certs, nil
}

// listApplets asks busybox which applets it has, sorted, and checks that the
// ones the tests need are there.
func listApplets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", busybox, err)
	}
	var applets []string
	for _, name := range strings.Fields(string(out)) {
		if name != "busybox" && !strings.Contains(name, "/") {
			applets = append(applets, name)
		}
	}
	slices.Sort(applets)
	applets = slices.Compact(applets)
	for _, need := range requiredApplets {
		if _, found := slices.BinarySearch(applets, need); !found {
			return nil, fmt.Errorf("%s has no %q applet", busybox, need)
		}
	}
	return applets, nil
}

// writeAtomic writes data to a temporary file next to path and renames it, so
// a reader never sees half an image.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mkimage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := bytes.NewReader(data).WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
