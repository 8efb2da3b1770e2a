package main

import (
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// A controller's denial count is read at every scrape, under its own
// controller label, so EdgeController's and DeviceController's share a name.
func TestUpstreamDenialsFollowTheCount(t *testing.T) {
	var edge, device atomic.Uint64
	reg := prometheus.NewRegistry()
	reg.MustRegister(upstreamDenials("edgecontroller", edge.Load), upstreamDenials("devicecontroller", device.Load))
	edge.Add(3)
	device.Add(1)
	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "tether_upstream_denials_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if got["edgecontroller"] != 3 || got["devicecontroller"] != 1 || len(got) != 2 {
		t.Errorf("tether_upstream_denials_total = %v, want edgecontroller 3 and devicecontroller 1", got)
	}
	edge.Add(2)
	if families, _ = reg.Gather(); families[0].GetMetric()[1].GetCounter().GetValue() != 5 {
		t.Errorf("after two more denials: %v, want edgecontroller 5", families[0].GetMetric())
	}
}
