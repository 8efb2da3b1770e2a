package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tether-edge/tether/tests/testenv"
)

// state is what `serve` writes once everything is ready, for `up` to print.
type state struct {
	Kubeconfig   string `json:"kubeconfig"`
	APIServer    string `json:"apiserver"`
	CloudHealth  string `json:"cloudcoreHealth"`
	EdgeHealth   string `json:"edgecoreHealth"`
	NodeName     string `json:"nodeName"`
	CloudcoreLog string `json:"cloudcoreLog"`
	EdgecoreLog  string `json:"edgecoreLog"`
	LogDir       string `json:"logDir"`
	// MQTT is the host:port of edgecore's embedded broker (EventBus).
	MQTT string `json:"mqtt"`
	// Device is the demo Device, namespace/name.
	Device string `json:"device"`
}

const (
	cloudHealth = "127.0.0.1:9091"
	edgeHealth  = "127.0.0.1:9092"
	mqttListen  = "127.0.0.1:1884" // edgecore's default
	nodeName    = "edge-1"
)

// serve starts every component, writes the state file, and keeps them
// running until ctx ends; then it stops them in reverse order.
func serve(ctx context.Context, dir, bin string) error {
	pt := testenv.NewProgramT(filepath.Join(dir, "run"), os.Stderr)
	defer pt.Close()
	var st state
	if err := pt.Run(func(t testenv.T) { st = startAll(t, dir, bin) }); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "state.json"), st); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "localup: ready")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "localup: stopping")
	return nil
}

func startAll(t testenv.T, dir, bin string) state {
	kube := testenv.StartKube(t, testenv.KubeOptions{Scheduler: true, ControllerManager: true})
	// StartCloudcore installs the Device and DeviceModel CRDs first.
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: bin, Kube: kube, Health: cloudHealth})
	applyDemo(t, kube, nodeName)
	edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{
		Bin: bin, Cloud: cloud, NodeName: nodeName, Health: edgeHealth, MQTTListen: mqttListen,
		Token: cloud.JoinToken(t, time.Hour),
	})
	testenv.WaitLog(t, edge.Process, time.Minute, "in sync with the cloud")
	return state{
		Kubeconfig:   kube.Kubeconfig,
		APIServer:    kube.Host,
		CloudHealth:  "http://" + cloudHealth,
		EdgeHealth:   "http://" + edgeHealth,
		NodeName:     nodeName,
		CloudcoreLog: cloud.LogPath,
		EdgecoreLog:  edge.LogPath,
		LogDir:       filepath.Join(dir, "run"),
		MQTT:         mqttListen,
		Device:       demoDevice,
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
