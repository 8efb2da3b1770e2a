package controllerbench

import "testing"

func TestParseWatches(t *testing.T) {
	metrics := `# HELP apiserver_longrunning_requests [STABLE] Gauge of all active long-running apiserver requests
# TYPE apiserver_longrunning_requests gauge
apiserver_longrunning_requests{component="apiserver",group="",resource="configmaps",scope="namespace",subresource="",verb="WATCH",version="v1"} 1000
apiserver_longrunning_requests{component="apiserver",group="",resource="configmaps",scope="cluster",subresource="",verb="WATCH",version="v1"} 2
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 50
apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="log",verb="CONNECT",version="v1"} 7
apiserver_longrunning_requests{component="apiserver",group="",resource="nodes",scope="cluster",subresource="",verb="WATCH",version="v1"} 1
apiserver_longrunning_requests{component="apiserver",group="",resource="secrets",scope="namespace",subresource="",verb="WATCH",version="v1"} 999
apiserver_longrunning_requests{component="apiserver",group="",resource="services",scope="cluster",subresource="",verb="WATCH",version="v1"} 4
apiserver_request_total{code="200",resource="pods",verb="WATCH"} 12
`
	got, err := parseWatches(metrics)
	if want := (watchCounts{Nodes: 1, Pods: 50, ConfigMaps: 1002, Secrets: 999}); err != nil || got != want {
		t.Fatalf("parseWatches = %v, %v; want %v", got, err, want)
	}
	if _, err := parseWatches("apiserver_request_total 1\n"); err == nil {
		t.Error("parseWatches found the gauge in metrics without it")
	}
}
