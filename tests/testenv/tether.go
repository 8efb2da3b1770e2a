package testenv

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/pki"
)

// TetherNamespace is where the cloudcore StartCloudcore runs keeps its CA
// Secret and join tokens.
const TetherNamespace = "tether-system"

// CloudcoreOptions configure StartCloudcore.
type CloudcoreOptions struct {
	// Bin is the folder holding the cloudcore binary; required.
	Bin string
	// Kube is the control plane cloudcore talks to; required.
	Kube *Kube
	// Kubeconfig, when set, is the kubeconfig cloudcore uses instead of
	// Kube.Kubeconfig (the admin's): one with a service account's token
	// tests that account's RBAC. The CRDs are installed as the admin.
	Kubeconfig string
	// Health is the health endpoint's host:port; empty picks a free port.
	Health string
	// KeepalivePeriod defaults to 2s, so a lost node is seen quickly.
	KeepalivePeriod time.Duration
}

// Cloudcore is a running cloudcore with the ports it serves.
type Cloudcore struct {
	*Process
	// Health is the health endpoint's base URL.
	Health string
	// WebSocketPort, QUICPort and HTTPSPort are on 127.0.0.1.
	WebSocketPort, QUICPort, HTTPSPort int
	// StreamPort is CloudStream's stream server (what kube-apiserver
	// reaches as every edge node's kubelet) and TunnelPort its stream
	// tunnel server, both on 127.0.0.1.
	StreamPort, TunnelPort int
	// ConfigPath is cloudcore's config file.
	ConfigPath string
	kube       *Kube
	command    Command
}

// StartCloudcore installs the Device and DeviceModel CRDs (DeviceCRDs) in
// o.Kube, which cloudcore needs to become ready, runs cloudcore against it
// on free loopback ports, its CA in the Secret it creates, and waits until
// it is ready.
func StartCloudcore(t T, o CloudcoreOptions) *Cloudcore {
	t.Helper()
	o.Kube.InstallCRDs(t, DeviceCRDs()...)
	ports := FreePorts(t, 6)
	if o.Health == "" {
		o.Health = fmt.Sprintf("127.0.0.1:%d", ports[3])
	}
	if o.KeepalivePeriod == 0 {
		o.KeepalivePeriod = 2 * time.Second
	}
	if o.Kubeconfig == "" {
		o.Kubeconfig = o.Kube.Kubeconfig
	}
	c := &Cloudcore{Health: "http://" + o.Health, WebSocketPort: ports[0], QUICPort: ports[1], HTTPSPort: ports[2],
		StreamPort: ports[4], TunnelPort: ports[5], kube: o.Kube}
	cfg := writeTempConfig(t, "cloudcore.yaml", fmt.Sprintf(`apiVersion: config.tether.io/v1alpha1
kind: CloudCore
health: {address: %q}
kubeAPI: {kubeconfig: %q}
cloudHub:
  namespace: %s
  websocket: {enable: true, address: "127.0.0.1:%d"}
  quic: {enable: true, address: "127.0.0.1:%d"}
  https: {enable: true, address: "127.0.0.1:%d"}
  keepalivePeriod: %s
cloudStream:
  streamAddress: "127.0.0.1:%d"
  tunnelAddress: "127.0.0.1:%d"
  nodeAddress: 127.0.0.1
`, o.Health, o.Kubeconfig, TetherNamespace, c.WebSocketPort, c.QUICPort, c.HTTPSPort, o.KeepalivePeriod,
		c.StreamPort, c.TunnelPort))
	c.ConfigPath = cfg
	c.command = Command{Name: "cloudcore", Path: filepath.Join(o.Bin, "cloudcore"), Args: []string{"--config", cfg}}
	c.Restart(t)
	return c
}

// Restart stops cloudcore if it runs and starts it again with the same
// config and ports, then waits until it is ready.
func (c *Cloudcore) Restart(t T) {
	t.Helper()
	if c.Process != nil {
		if err := c.Process.Stop(); err != nil {
			t.Logf("cloudcore stopped: %v", err)
		}
	}
	c.Process = StartProcess(t, c.command)
	WaitHTTPReady(t, c.Process, c.Health+"/readyz")
}

// JoinToken creates a join token valid for ttl, as an operator would.
func (c *Cloudcore) JoinToken(t T, ttl time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := c.kube.Clientset(t)
	ca, err := pki.EnsureCASecret(ctx, client, TetherNamespace, "tether-ca", time.Now())
	if err != nil {
		t.Fatalf("read cloudcore's CA: %v", err)
	}
	tokens, err := pki.NewTokens(pki.TokenOptions{Client: client, Namespace: TetherNamespace, CAHash: ca.Hash()})
	if err != nil {
		t.Fatalf("token store: %v", err)
	}
	tok, _, err := tokens.Create(ctx, ttl, "test")
	if err != nil {
		t.Fatalf("create a join token: %v", err)
	}
	return tok.String()
}

// EdgecoreOptions configure StartEdgecore.
type EdgecoreOptions struct {
	// Bin is the folder holding the edgecore binary; required.
	Bin string
	// Cloud is the cloudcore to join; required.
	Cloud *Cloudcore
	// NodeName is required.
	NodeName string
	// Token joins the node; empty when PKIDir already holds its certificate.
	Token string
	// PKIDir keeps the node's certificates; empty means a new temp folder.
	PKIDir string
	// Transport is websocket (default) or quic.
	Transport string
	// TunnelPort is the port on 127.0.0.1 edgecore dials for the stream
	// tunnel; zero means Cloud.TunnelPort (set it to a TCPProxy's port to
	// cut the tunnel).
	TunnelPort int
	// Health is the health endpoint's host:port; empty picks a free port.
	Health string
	// DBPath is the local store's file; empty means a new temp folder's
	// edgecore.db. Pass an earlier Edgecore's DBPath to restart it.
	DBPath string
	// Containerd, when set, runs pods: Edged is enabled against it, with
	// its folders under EdgedDir. Nil disables Edged.
	Containerd *Containerd
	// EdgedDir holds Edged's root, pod logs and static pod folders; empty
	// means a new temp folder. Pass an earlier Edgecore's EdgedDir to
	// restart it.
	EdgedDir string
	// ExternalMQTT, when set, is the URL of the MQTT broker EventBus uses
	// as a client (mode external), e.g. a Mosquitto's Addr; its client ID
	// is unique to this node and DBPath, so a restarted edgecore resumes
	// its session. Empty runs EventBus's embedded broker on MQTTListen.
	ExternalMQTT string
	// MQTTListen is the embedded broker's host:port; empty picks a free
	// loopback port. Pass an earlier Edgecore's MQTTListen to restart it
	// on the same port. Unused with ExternalMQTT.
	MQTTListen string
}

// Edgecore is a running edgecore.
type Edgecore struct {
	*Process
	Health     string
	PKIDir     string
	DBPath     string
	ConfigPath string
	// EdgedDir holds rootDir, podLogsDir ("logs") and staticPodPath
	// ("manifests") when Edged runs; empty otherwise.
	EdgedDir string
	// MQTT is the URL ("tcp://host:port") of the broker where this
	// edgecore's EventBus serves the $hw/events topics: the embedded
	// broker, or ExternalMQTT.
	MQTT string
	// MQTTListen is the embedded broker's host:port; empty with
	// ExternalMQTT.
	MQTTListen string
	// StreamAddress is the local kubelet-style server's host:port (logs,
	// exec), on loopback; empty when Edged does not run.
	StreamAddress string
}

// PodLogsDir is where Edged keeps container logs.
func (e *Edgecore) PodLogsDir() string { return filepath.Join(e.EdgedDir, "logs") }

// StaticPodDir is Edged's static pod folder.
func (e *Edgecore) StaticPodDir() string { return filepath.Join(e.EdgedDir, "manifests") }

// edgedConfig is the edged section of a test edgecore's config.
func edgedConfig(t T, o *EdgecoreOptions) string {
	if o.Containerd == nil {
		return "edged: {enable: false}\n"
	}
	if o.EdgedDir == "" {
		o.EdgedDir = t.TempDir()
	}
	if err := os.MkdirAll(filepath.Join(o.EdgedDir, "manifests"), 0o755); err != nil {
		t.Fatalf("static pod folder: %v", err)
	}
	return fmt.Sprintf(`edged:
  enable: true
  runtimeEndpoint: %q
  rootDir: %q
  podLogsDir: %q
  staticPodPath: %q
  staticPodScanPeriod: 1s
  imageGC: {period: 1h}
`, "unix://"+o.Containerd.Endpoint, filepath.Join(o.EdgedDir, "root"), filepath.Join(o.EdgedDir, "logs"), filepath.Join(o.EdgedDir, "manifests"))
}

// eventBusConfig is the eventBus section of a test edgecore's config and
// the broker URL clients use: the embedded broker on o.MQTTListen (a free
// port when empty, so parallel edgecores do not collide), or, with
// o.ExternalMQTT, that broker with a client ID derived from the node name
// and DBPath.
func eventBusConfig(t T, o *EdgecoreOptions) (section, broker string) {
	if o.ExternalMQTT != "" {
		o.MQTTListen = ""
		id := fmt.Sprintf("tether-edgecore-%s-%08x", o.NodeName, crc32.ChecksumIEEE([]byte(o.DBPath)))
		return fmt.Sprintf("eventBus:\n  mode: external\n  external: {server: %q, clientID: %q}\n", o.ExternalMQTT, id), o.ExternalMQTT
	}
	if o.MQTTListen == "" {
		o.MQTTListen = fmt.Sprintf("127.0.0.1:%d", FreePorts(t, 1)[0])
	}
	return fmt.Sprintf("eventBus:\n  mode: embedded\n  embedded: {listen: %q}\n", o.MQTTListen), "tcp://" + o.MQTTListen
}

// edgeStreamConfig is the edgeStream section of a test edgecore's config
// and its local server's address: a free loopback port, so parallel
// edgecores do not collide on 10350.
func edgeStreamConfig(t T, o *EdgecoreOptions) (section, addr string) {
	if o.Containerd == nil {
		return "", ""
	}
	addr = fmt.Sprintf("127.0.0.1:%d", FreePorts(t, 1)[0])
	return fmt.Sprintf("edgeStream: {address: %q}\n", addr), addr
}

// StartEdgecore runs edgecore against o.Cloud and waits until it is ready
// (its modules run; it may not have reached the cloud yet). Its EventBus
// serves MQTT at Edgecore.MQTT (see EdgecoreOptions.ExternalMQTT).
func StartEdgecore(t T, o EdgecoreOptions) *Edgecore {
	t.Helper()
	if o.Health == "" {
		o.Health = fmt.Sprintf("127.0.0.1:%d", FreePorts(t, 1)[0])
	}
	if o.PKIDir == "" {
		o.PKIDir = t.TempDir()
	}
	if o.Transport == "" {
		o.Transport = "websocket"
	}
	if o.TunnelPort == 0 {
		o.TunnelPort = o.Cloud.TunnelPort
	}
	if o.DBPath == "" {
		o.DBPath = filepath.Join(t.TempDir(), "edgecore.db")
	}
	eventBus, broker := eventBusConfig(t, &o)
	stream, streamAddr := edgeStreamConfig(t, &o)
	cfg := writeTempConfig(t, "edgecore.yaml", fmt.Sprintf(`apiVersion: config.tether.io/v1alpha1
kind: EdgeCore
nodeName: %s
health: {address: %q}
edgeHub:
  server: 127.0.0.1
  transport: %s
  ports: {websocket: %d, quic: %d, https: %d, stream: %d}
  token: %q
  pkiDir: %q
  keepalivePeriod: 2s
  reconnectInitial: 200ms
  reconnectMax: 2s
metaManager: {dbPath: %q}
nodeStatus: {updatePeriod: 1s, leaseDuration: 4s}
`, o.NodeName, o.Health, o.Transport, o.Cloud.WebSocketPort, o.Cloud.QUICPort, o.Cloud.HTTPSPort, o.TunnelPort,
		o.Token, o.PKIDir, o.DBPath)+edgedConfig(t, &o)+eventBus+stream)
	p := StartProcess(t, Command{Name: "edgecore-" + o.NodeName, Path: filepath.Join(o.Bin, "edgecore"), Args: []string{"--config", cfg}})
	e := &Edgecore{Process: p, Health: "http://" + o.Health, PKIDir: o.PKIDir, DBPath: o.DBPath, ConfigPath: cfg, EdgedDir: o.EdgedDir,
		MQTT: broker, MQTTListen: o.MQTTListen, StreamAddress: streamAddr}
	WaitHTTPReady(t, p, e.Health+"/readyz")
	return e
}

// WaitLog waits until the process's log contains text.
func WaitLog(t T, p *Process, timeout time.Duration, text string) {
	t.Helper()
	WaitFor(t, timeout, fmt.Sprintf("%q in the log of %s", text, p.LogPath), func() error {
		b, err := os.ReadFile(p.LogPath)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), text) {
			return fmt.Errorf("not yet; last lines:\n%s", p.Tail(5))
		}
		return nil
	})
}

func writeTempConfig(t T, name, body string) string {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}
