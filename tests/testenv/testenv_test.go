package testenv

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// readRepoFile reads a file relative to the repository root; tests run in
// tests/testenv.
func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile("../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestVersionsMatchLibSh(t *testing.T) {
	lib := readRepoFile(t, "build/lib.sh")
	for name, want := range map[string]string{"K8S_VERSION": K8sVersion, "CONTAINERD_VERSION": ContainerdVersion} {
		m := regexp.MustCompile(name + `="\$\{` + name + `:-([^}]+)\}"`).FindStringSubmatch(lib)
		if m == nil {
			t.Fatalf("build/lib.sh: no default for %s", name)
		}
		if m[1] != want {
			t.Errorf("build/lib.sh %s=%s, testenv has %s: change both", name, m[1], want)
		}
	}
	// client-go v0.X.Y goes with kube-apiserver v1.X.Y.
	clientGo := "k8s.io/client-go v0." + strings.TrimPrefix(K8sVersion, "v1.")
	if !strings.Contains(readRepoFile(t, "go.mod"), clientGo) {
		t.Errorf("go.mod does not require %s to match K8sVersion %s", clientGo, K8sVersion)
	}
}

func TestImageNamesMatchScript(t *testing.T) {
	script := readRepoFile(t, "build/test-images.sh")
	for _, want := range []string{"busybox_ref=" + BusyboxImage, "pause_ref=" + PauseImage} {
		if !strings.Contains(script, "\n"+want+"\n") {
			t.Errorf("build/test-images.sh does not set %s", want)
		}
	}
}

// TestImageArchives checks the built archives, when present, carry the names
// testenv imports them under.
func TestImageArchives(t *testing.T) {
	paths := DefaultPaths()
	for tarball, want := range map[string]string{paths.BusyboxImageTar(): BusyboxImage, paths.PauseImageTar(): PauseImage} {
		requireFile(t, "test image "+want, tarball)
		var index struct {
			Manifests []struct{ Annotations map[string]string }
		}
		if err := json.Unmarshal(readTarFile(t, tarball, "index.json"), &index); err != nil {
			t.Fatalf("%s index.json: %v", tarball, err)
		}
		if len(index.Manifests) != 1 || index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != want {
			t.Errorf("%s: index.json %+v, want one manifest named %s", tarball, index, want)
		}
	}
}

func readTarFile(t *testing.T, tarball, name string) []byte {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no %s: %v", tarball, name, err)
		}
		if hdr.Name == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

func TestApplyTOMLEdits(t *testing.T) {
	doc := "root = '/var/lib/containerd'\n[grpc]\n  address = \"/run/c.sock\"\n" +
		"  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n    bin_dir = \"/opt/cni/bin\"\n[ttrpc]\n  address = \"\"\n"
	got, err := applyTOMLEdits(doc, []tomlEdit{
		{"", "root", `"/r"`},
		{"grpc", "address", `"/s"`},
		{"plugins.io.containerd.grpc.v1.cri.cni", "bin_dir", `"/usr/lib/cni"`},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "root = \"/r\"\n[grpc]\n  address = \"/s\"\n" +
		"  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n    bin_dir = \"/usr/lib/cni\"\n[ttrpc]\n  address = \"\"\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := applyTOMLEdits(doc, []tomlEdit{{"grpc", "no_such_key", "1"}}); err == nil {
		t.Error("an edit of a missing key succeeded")
	}
}

func TestMountPathUnescape(t *testing.T) {
	if got := unescapeMountPath(`/tmp/a\040b/c`); got != "/tmp/a b/c" {
		t.Errorf("got %q", got)
	}
}
