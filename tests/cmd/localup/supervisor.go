package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/tests/testenv"
)

// state is what `serve` writes once everything is ready, for `up` to print.
type state struct {
	Kubeconfig   string `json:"kubeconfig"`
	Kubectl      string `json:"kubectl"`
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
	// DemoPod is the running pod of the demo Deployment, namespace/name.
	DemoPod string `json:"demoPod"`
}

const (
	cloudHealth = "127.0.0.1:9091"
	edgeHealth  = "127.0.0.1:9092"
	mqttListen  = "127.0.0.1:1884" // edgecore's default
	nodeName    = "edge-1"
	// progressPrefix marks the supervisor's log lines that `up` repeats
	// while it waits.
	progressPrefix = "localup: "
)

// serve starts every component, writes the state file, and keeps them
// running until ctx ends; then it stops them in reverse order.
func serve(ctx context.Context, o options) error {
	pt := testenv.NewProgramT(filepath.Join(o.dir, "run"), os.Stderr)
	defer pt.Close()
	var st state
	if err := pt.Run(func(t testenv.T) { st = startAll(t, o) }); err != nil {
		return err
	}
	if err := writeJSON(statePath(o.dir), st); err != nil {
		return err
	}
	progress("ready")
	<-ctx.Done()
	progress("stopping")
	return nil
}

// progress logs one step for `up` to show.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, progressPrefix+format+"\n", args...)
}

func startAll(t testenv.T, o options) state {
	progress("starting etcd, kube-apiserver, kube-controller-manager and kube-scheduler")
	kube := testenv.StartKube(t, testenv.KubeOptions{Scheduler: true, ControllerManager: true})
	if err := copyFile(kube.Kubeconfig, o.kubeconfig, 0o600); err != nil {
		t.Fatalf("write the kubeconfig: %v", err)
	}
	progress("starting containerd and importing the demo image")
	ctd := testenv.StartContainerd(t, testenv.ContainerdOptions{})
	// StartCloudcore installs the Device and DeviceModel CRDs first.
	progress("starting cloudcore (CRDs first)")
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: o.bin, Kube: kube, Health: cloudHealth})
	progress("applying the demo Device and Deployment")
	applyDemo(t, kube, nodeName)
	client := kube.Clientset(t)
	app := applyDemoApp(t, client)
	pkiDir := joinNode(t, o, cloud)
	progress("starting edgecore on node %s", nodeName)
	edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{
		Bin: o.bin, Cloud: cloud, NodeName: nodeName, Health: edgeHealth, MQTTListen: mqttListen,
		PKIDir: pkiDir, Containerd: ctd,
	})
	testenv.WaitLog(t, edge.Process, time.Minute, "in sync with the cloud")
	progress("waiting for node %s to be Ready and the demo pod to run", nodeName)
	waitNodeReady(t, client, nodeName)
	pod := waitDemoPod(t, client, app, nodeName)
	return state{
		Kubeconfig:   o.kubeconfig,
		Kubectl:      kube.KubectlPath,
		APIServer:    kube.Host,
		CloudHealth:  "http://" + cloudHealth,
		EdgeHealth:   "http://" + edgeHealth,
		NodeName:     nodeName,
		CloudcoreLog: cloud.LogPath,
		EdgecoreLog:  edge.LogPath,
		LogDir:       filepath.Join(o.dir, "run"),
		MQTT:         mqttListen,
		Device:       demoDevice,
		DemoPod:      app.Namespace + "/" + pod,
	}
}

// joinNode joins the edge node as an operator would: `cloudcore token
// create`, then `edgecore join` with that token, which fetches the node's
// certificate into the folder it returns.
func joinNode(t testenv.T, o options, cloud *testenv.Cloudcore) string {
	t.Helper()
	progress("creating a join token: cloudcore token create")
	token := strings.TrimSpace(runTool(t, filepath.Join(o.bin, "cloudcore"),
		"--config", cloud.ConfigPath, "token", "create", "--ttl", "1h", "--description", "make up"))
	progress("joining node %s: edgecore join --cloud 127.0.0.1:%d --token …", nodeName, cloud.HTTPSPort)
	dir := t.TempDir()
	pkiDir := filepath.Join(dir, "pki")
	cfg := filepath.Join(dir, "join.yaml")
	body := fmt.Sprintf("apiVersion: config.tether.io/v1alpha1\nkind: EdgeCore\nedgeHub: {pkiDir: %q}\n", pkiDir)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatalf("write %s: %v", cfg, err)
	}
	runTool(t, filepath.Join(o.bin, "edgecore"), "join", "--config", cfg, "--name", nodeName,
		"--cloud", fmt.Sprintf("127.0.0.1:%d", cloud.HTTPSPort), "--token", token)
	return pkiDir
}

// runTool runs a command line tool to completion within a minute and
// returns its standard output.
func runTool(t testenv.T, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(path), strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return certs.WriteFileAtomic(path, b, 0o600)
}

func copyFile(from, to string, mode os.FileMode) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return certs.WriteFileAtomic(to, b, mode)
}
