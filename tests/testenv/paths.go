package testenv

import (
	"os"
	"path/filepath"
)

// Versions of the components built by build/. They must equal the defaults in
// build/lib.sh (TestVersionsMatchLibSh checks), and K8sVersion must match the
// client-go in go.mod (v1.X.Y for v0.X.Y). K8S_VERSION and CONTAINERD_VERSION
// in the environment override both, as they do for the scripts.
const (
	K8sVersion        = "v1.37.2"
	ContainerdVersion = "v2.4.2"
)

// Images that build/test-images.sh builds and StartContainerd imports; the
// same names are written in that script (TestImageNamesMatchScript checks).
const (
	// BusyboxImage has Debian's static busybox with its applets in /bin
	// (sh, echo, sleep, cat, wget, nc, httpd, ...); its command is sh.
	BusyboxImage = "tether.local/busybox:test"
	// PauseImage is the same root filesystem; it sleeps until SIGTERM. It is
	// the sandbox (pause) image of every containerd StartContainerd runs.
	PauseImage = "tether.local/pause:test"
)

// depsHint ends every "not found" failure: the one command that provides it.
const depsHint = "run build/test-deps.sh (make test does)"

// Paths says where the binaries and images are. The zero value of any field
// means its default; DefaultPaths fills them all.
type Paths struct {
	// Cache is the build cache: $TETHER_CACHE, else ~/.cache/tether.
	Cache string
	// KubeBin holds kube-apiserver, kube-scheduler, kube-controller-manager
	// and kubectl:
	// Cache/kubernetes/<K8sVersion>/bin (build/kube-binaries.sh).
	KubeBin string
	// ContainerdBin holds containerd 2.4, containerd-shim-runc-v2 and ctr:
	// Cache/containerd/<ContainerdVersion>/bin (build/containerd.sh).
	ContainerdBin string
	// Images holds busybox.tar and pause.tar: Cache/images
	// (build/test-images.sh).
	Images string
	// SystemBin holds Debian's etcd, containerd 1.6, its shim and ctr: /usr/bin.
	SystemBin string
	// Mosquitto is Debian's broker: /usr/sbin/mosquitto.
	Mosquitto string
	// MosquittoPub is Debian's MQTT publisher (mosquitto-clients):
	// /usr/bin/mosquitto_pub.
	MosquittoPub string
	// CNIBin holds the CNI plugins: /usr/lib/cni (containernetworking-plugins).
	CNIBin string
}

// DefaultPaths returns the paths build/lib.sh uses, honouring TETHER_CACHE,
// K8S_VERSION and CONTAINERD_VERSION like it does.
func DefaultPaths() Paths {
	cache := os.Getenv("TETHER_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "/root"
		}
		cache = filepath.Join(home, ".cache", "tether")
	}
	return Paths{
		Cache:         cache,
		KubeBin:       filepath.Join(cache, "kubernetes", envOr("K8S_VERSION", K8sVersion), "bin"),
		ContainerdBin: filepath.Join(cache, "containerd", envOr("CONTAINERD_VERSION", ContainerdVersion), "bin"),
		Images:        filepath.Join(cache, "images"),
		SystemBin:     "/usr/bin",
		Mosquitto:     "/usr/sbin/mosquitto",
		MosquittoPub:  "/usr/bin/mosquitto_pub",
		CNIBin:        "/usr/lib/cni",
	}
}

// withDefaults returns p with every empty field taken from DefaultPaths.
func (p Paths) withDefaults() Paths {
	d := DefaultPaths()
	for _, f := range []struct{ v, def *string }{
		{&p.Cache, &d.Cache}, {&p.KubeBin, &d.KubeBin}, {&p.ContainerdBin, &d.ContainerdBin},
		{&p.Images, &d.Images}, {&p.SystemBin, &d.SystemBin}, {&p.Mosquitto, &d.Mosquitto},
		{&p.MosquittoPub, &d.MosquittoPub}, {&p.CNIBin, &d.CNIBin},
	} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	return p
}

// BusyboxImageTar is the OCI archive of BusyboxImage.
func (p Paths) BusyboxImageTar() string { return filepath.Join(p.withDefaults().Images, "busybox.tar") }

// PauseImageTar is the OCI archive of PauseImage.
func (p Paths) PauseImageTar() string { return filepath.Join(p.withDefaults().Images, "pause.tar") }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// requireFile fails the test at once when path does not exist, naming what
// is missing and how to get it.
func requireFile(t T, what, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s not found at %s: %s", what, path, depsHint)
	}
}
