package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	if err := DefaultCloudCore().Validate(); err != nil {
		t.Errorf("default CloudCore: %v", err)
	}
	e := DefaultEdgeCore()
	e.NodeName = "edge-1" // the host name of a test machine need not be a valid node name
	if err := e.Validate(); err != nil {
		t.Errorf("default EdgeCore: %v", err)
	}
}

// The printed defaults must load back to the same configuration, so that
// `--defaultconfig > f.yaml; --config f.yaml` is a no-op edit.
func TestDefaultConfigRoundTrips(t *testing.T) {
	e := DefaultEdgeCore()
	e.NodeName = "edge-1"
	y, err := e.YAML()
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadEdgeCore(writeFile(t, string(y)))
	if err != nil {
		t.Fatalf("load printed defaults: %v\n%s", err, y)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", *got, *e)
	}

	c := DefaultCloudCore()
	y, err = c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	gotc, err := LoadCloudCore(writeFile(t, string(y)))
	if err != nil {
		t.Fatalf("load printed defaults: %v\n%s", err, y)
	}
	if !reflect.DeepEqual(gotc, c) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", *gotc, *c)
	}
}

func TestPartialFileKeepsDefaults(t *testing.T) {
	got, err := LoadEdgeCore(writeFile(t, `
apiVersion: config.tether.io/v1alpha1
kind: EdgeCore
nodeName: edge-7
bus: {queueSize: 16}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got.NodeName != "edge-7" || got.Bus.QueueSize != 16 {
		t.Errorf("file values not applied: %+v", got)
	}
	if got.Bus.ShutdownTimeout.Duration != 5*time.Second || got.Health.Address != "127.0.0.1:9092" {
		t.Errorf("defaults lost: %+v", got)
	}
}

func TestLoadErrorsNameTheField(t *testing.T) {
	head := "apiVersion: config.tether.io/v1alpha1\nkind: EdgeCore\nnodeName: edge-1\n"
	tests := []struct {
		name, body string
		want       []string // every one must appear in the error
	}{
		{"unknown top-level field", head + "nodeNme: x\n", []string{`unknown field "nodeNme"`}},
		{"unknown nested field", head + "health: {adress: 1.2.3.4:1}\n", []string{`unknown field "health.adress"`}},
		{"duplicate field", head + "logging: {level: info}\nlogging: {level: debug}\n", []string{"logging"}},
		{"wrong type", head + "bus: {queueSize: many}\n", []string{"queueSize"}},
		{"bad duration", head + "bus: {shutdownTimeout: soon}\n", []string{"duration"}},
		{"invalid values, all reported", head + "logging: {level: loud, format: xml}\nbus: {queueSize: 0}\n",
			[]string{"logging.level", `"loud"`, "logging.format", "bus.queueSize"}},
		{"bad address", head + "health: {address: nowhere}\n", []string{"health.address", "host:port"}},
		{"bad node name", "apiVersion: config.tether.io/v1alpha1\nkind: EdgeCore\nnodeName: Edge_1\n", []string{"nodeName"}},
		{"wrong kind", "apiVersion: config.tether.io/v1alpha1\nkind: CloudCore\n", []string{"kind", "EdgeCore"}},
		{"wrong apiVersion", "apiVersion: v1\nkind: EdgeCore\n", []string{"apiVersion"}},
		{"not YAML", "{{{", []string{"parse YAML"}},
		{"empty file", "", []string{"apiVersion"}},
		{"no kind", "apiVersion: config.tether.io/v1alpha1\nnodeName: edge-1\n", []string{"kind", "EdgeCore"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.body)
			_, err := LoadEdgeCore(path)
			if err == nil {
				t.Fatal("loaded without error")
			}
			msg := err.Error()
			for _, w := range append(tt.want, path) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestCloudCoreValidation(t *testing.T) {
	c := DefaultCloudCore()
	c.Health.Address = "127.0.0.1:http-alt"
	c.Bus.ShutdownTimeout.Duration = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config passed")
	}
	for _, w := range []string{"health.address", "bus.shutdownTimeout"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestMissingFile(t *testing.T) {
	_, err := LoadCloudCore(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("want an error naming the file, got %v", err)
	}
}

// The sample configs users start from must load as they are.
func TestDeploySamplesLoad(t *testing.T) {
	if _, err := LoadEdgeCore("../../deploy/edgecore/edgecore.yaml"); err != nil {
		t.Error(err)
	}
	if _, err := LoadCloudCore("../../deploy/cloudcore/cloudcore.yaml"); err != nil {
		t.Error(err)
	}
}

func TestHubSectionsNameBadFields(t *testing.T) {
	c := DefaultCloudCore()
	c.CloudHub.AdvertiseAddresses = []string{"not a name"}
	c.CloudHub.CA.CertFile = "/ca.crt"
	c.CloudHub.SyncWindow = 0
	err := c.Validate()
	for _, want := range []string{"cloudHub.advertiseAddresses[0]", "cloudHub.ca.keyFile", "cloudHub.syncWindow"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
	e := DefaultEdgeCore()
	e.NodeName = "edge-1"
	e.EdgeHub.Transport = "carrier-pigeon"
	e.EdgeHub.ReconnectMax = Duration{time.Millisecond}
	err = e.Validate()
	for _, want := range []string{"edgeHub.transport", "edgeHub.reconnectMax"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
}
