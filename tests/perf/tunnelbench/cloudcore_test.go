package tunnelbench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/tests/testenv"
)

const (
	// nodeLimit is cloudcore's cloudHub.nodeLimit in these figures.
	nodeLimit = 6000
)

// cloudcoreBinary builds cloudcore once per process.
func (e *processEnv) cloudcoreBinary(b *testing.B) string {
	b.Helper()
	if e.cloudcoreBin != "" {
		return e.cloudcoreBin
	}
	if err := testenv.BuildBinaries(e.dir, testenv.CloudcorePackage); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(e.dir, "cloudcore")
	e.cloudcoreBin = bin
	return bin
}

// cloudcore is a real cloudcore process beside a real kube-apiserver, with
// its CA in files, WebSocket only, and a config it can be restarted with.
type cloudcore struct {
	// CA signs cloudcore's serving certificate and the nodes' certificates.
	CA *certs.CA
	// WebSocketAddr is where nodes dial.
	WebSocketAddr string
	Proc          *testenv.Process
	cmd           testenv.Command
	readyURL      string
}

// startCloudcore starts etcd, kube-apiserver and cloudcore, and returns
// once cloudcore is ready. Cleanup stops them.
func startCloudcore(b *testing.B, bin string) *cloudcore {
	b.Helper()
	kube := testenv.StartKube(b, testenv.KubeOptions{})
	dir := b.TempDir()
	ca, err := certs.NewCA("tether-bench-ca", 24*time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		b.Fatal(err)
	}
	caCert, caKey := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	writeFile(b, caCert, ca.CertPEM)
	writeFile(b, caKey, keyPEM)

	ports := testenv.FreePorts(b, 2)
	cfg := config.DefaultCloudCore()
	cfg.Logging.Level = "warn"
	cfg.Health.Address = fmt.Sprintf("127.0.0.1:%d", ports[1])
	cfg.KubeAPI.Kubeconfig = kube.Kubeconfig
	cfg.CloudHub.CA = config.CASource{CertFile: caCert, KeyFile: caKey}
	cfg.CloudHub.WebSocket = config.Listener{Enable: true, Address: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	cfg.CloudHub.QUIC.Enable = false
	cfg.CloudHub.HTTPS.Enable = false
	cfg.CloudHub.NodeLimit = nodeLimit
	yaml, err := cfg.YAML()
	if err != nil {
		b.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "cloudcore.yaml")
	writeFile(b, cfgPath, yaml)

	c := &cloudcore{
		CA:            ca,
		WebSocketAddr: cfg.CloudHub.WebSocket.Address,
		cmd:           testenv.Command{Name: "cloudcore", Path: bin, Args: []string{"--config", cfgPath}},
		readyURL:      "http://" + cfg.Health.Address + "/readyz",
	}
	c.Start(b)
	return c
}

// Start starts cloudcore (again) and waits until it is ready.
func (c *cloudcore) Start(b *testing.B) {
	b.Helper()
	c.Proc = testenv.StartProcess(b, c.cmd)
	testenv.WaitHTTPReady(b, c.Proc, c.readyURL)
}

// Stop sends cloudcore SIGTERM and waits for it to exit.
func (c *cloudcore) Stop(b *testing.B) {
	b.Helper()
	if err := c.Proc.Stop(); err != nil {
		b.Fatalf("stop cloudcore: %v", err)
	}
}

// RSS is cloudcore's resident set size in bytes (VmRSS).
func (c *cloudcore) RSS(b *testing.B) int64 { return c.Proc.RSS(b) }

// SettledRSS is cloudcore's RSS once it has stopped growing
// (testenv.Process.SettledRSS).
func (c *cloudcore) SettledRSS(b *testing.B) int64 { return c.Proc.SettledRSS(b) }

func writeFile(b *testing.B, path string, data []byte) {
	b.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
}
