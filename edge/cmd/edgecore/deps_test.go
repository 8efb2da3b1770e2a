package main

import (
	"os/exec"
	"strings"
	"testing"
)

// edgecore runs on small gateways: it must not link cloud-side code, the test
// stack, or heavy Kubernetes machinery it has no use for.
var forbiddenOnEdge = []string{
	"github.com/tether-edge/tether/cloud/",
	"github.com/tether-edge/tether/tests/",
	"k8s.io/kubernetes/",
	"k8s.io/apiserver/",
	"k8s.io/client-go/informers",
	"go.etcd.io/etcd/",
	"github.com/containerd/containerd/",
}

func TestEdgecoreDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/tether-edge/tether/edge/cmd/edgecore").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %d packages; the check would be vacuous", len(deps))
	}
	for _, dep := range deps {
		for _, bad := range forbiddenOnEdge {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("edgecore links %s (forbidden prefix %s)", dep, bad)
			}
		}
	}
	t.Logf("edgecore links %d packages", len(deps))
}
