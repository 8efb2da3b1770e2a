package cri

import "testing"

func TestSandboxImageOf(t *testing.T) {
	for _, c := range []struct{ name, config, want string }{
		{"containerd 1.6", `{"sandboxImage":"registry.k8s.io/pause:3.6","other":1}`, "registry.k8s.io/pause:3.6"},
		{"containerd 2.x", `{"pinnedImages":{"sandbox":"tether.local/pause:test"}}`, "tether.local/pause:test"},
		{"neither", `{"cni":{}}`, ""},
		{"not JSON", `pause`, ""},
		{"missing", ``, ""},
	} {
		if got := sandboxImageOf(c.config); got != c.want {
			t.Errorf("%s: sandboxImageOf(%q) = %q, want %q", c.name, c.config, got, c.want)
		}
	}
}
