package main

import (
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tether-edge/tether/common/daemon/metricstest"
)

// A controller's denial count is read at every scrape, under its own
// controller label, so EdgeController's and DeviceController's share a name.
func TestUpstreamDenialsFollowTheCount(t *testing.T) {
	var edge, device atomic.Uint64
	reg := prometheus.NewRegistry()
	reg.MustRegister(upstreamDenials("edgecontroller", edge.Load), upstreamDenials("devicecontroller", device.Load))
	edge.Add(3)
	device.Add(1)
	const name = "tether_upstream_denials_total"
	got := metricstest.ByLabel(t, reg, name, "controller")
	if got["edgecontroller"] != 3 || got["devicecontroller"] != 1 || len(got) != 2 {
		t.Errorf("%s = %v, want edgecontroller 3 and devicecontroller 1", name, got)
	}
	edge.Add(2)
	if n := metricstest.Value(t, reg, name, "controller", "edgecontroller"); n != 5 {
		t.Errorf("after two more denials: edgecontroller %v, want 5", n)
	}
}
