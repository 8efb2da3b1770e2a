package eventbus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/message"
)

func TestQoS(t *testing.T) {
	for topic, want := range map[string]byte{
		"$hw/events/device/default/thermo-1/twin/update/result":   1,
		"$hw/events/device/default/thermo-1/twin/update/delta":    1,
		"$hw/events/device/default/thermo-1/twin/update/document": 1,
		"$hw/events/device/default/thermo-1/twin/get/result":      1,
		"$hw/events/device/default/thermo-1/state/update/result":  1,
		"$hw/events/device/default/thermo-1/updated":              0,
		"$hw/events/node/edge-1/membership/get/result":            0,
		"$hw/events/node/edge-1/membership/updated":               0,
		"$hw/events/upload/x":                                     0,
		"$hw/events/device/twin/x/twin":                           1,
		"$hw/events/device/a/b":                                   0,
		"hw/events/device/a/b/twin/update":                        0,
		"":                                                        0,
	} {
		if got := QoS(topic); got != want {
			t.Errorf("QoS(%q) = %d, want %d", topic, got, want)
		}
	}
	for _, s := range Subscriptions() {
		probe := strings.ReplaceAll(strings.ReplaceAll(s.Filter, "+", "x"), "#", "x")
		if got := QoS(probe); got != s.QoS {
			t.Errorf("%s is subscribed at QoS %d but QoS(%q) = %d", s.Filter, s.QoS, probe, got)
		}
	}
}

func TestMessages(t *testing.T) {
	payload := []byte{0, 1, 0xff}
	in := NewPublication("devicetwin", twinUpdate, payload)
	if topic, p, ok := Publication(in); !ok || topic != twinUpdate || string(p) != string(payload) {
		t.Errorf("Publication(NewPublication) = %q %x %v", topic, p, ok)
	}
	if in.Route.Operation != message.OpUpload || in.Route.Resource != (message.Resource{Type: "mqtt", Name: twinUpdate}) {
		t.Errorf("publication route %+v", in.Route)
	}
	out := NewPublish("devicetwin", twinUpdate+"/result", payload)
	if out.Route.Destination != Name || out.Route.Source != "devicetwin" {
		t.Errorf("publish route %+v", out.Route)
	}
	if _, _, ok := Publication(out); ok {
		t.Error("Publication accepted a publish request")
	}
	if topic, _, ok := publishRequest(out); !ok || topic != twinUpdate+"/result" {
		t.Errorf("publishRequest = %q %v", topic, ok)
	}
	if _, _, ok := publishRequest(in); ok {
		t.Error("publishRequest accepted a publication")
	}
	for _, topic := range []string{"", "a/+/b", "a/#", "a\x00b", "\xff", strings.Repeat("a", 65536)} {
		if _, _, ok := publishRequest(NewPublish("x", topic, nil)); ok {
			t.Errorf("publishRequest accepted topic %q", topic)
		}
	}
	other := message.New("x", Name, OpPublish, message.Resource{Namespace: "default", Type: "mqtt", Name: "a"}, nil)
	if _, _, ok := publishRequest(other); ok {
		t.Error("publishRequest accepted a namespaced resource")
	}
}

func TestNewChecksOptions(t *testing.T) {
	good := Options{Config: config.DefaultEdgeCore().EventBus, Bus: newFakeBus(), Deliver: "devicetwin", Log: testLog(t)}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good): %v", err)
	}
	dir := t.TempDir()
	for name, change := range map[string]func(*Options){
		"no bus":     func(o *Options) { o.Bus = nil },
		"no log":     func(o *Options) { o.Log = nil },
		"no deliver": func(o *Options) { o.Deliver = "" },
		"disabled":   func(o *Options) { o.Config.Enable = false },
		"bad mode":   func(o *Options) { o.Config.Mode = "cloud" },
		"no payload": func(o *Options) { o.Config.MaxPayloadBytes = 0 },
		"no password file": func(o *Options) {
			o.Config.Mode = config.EventBusExternal
			o.Config.External.PasswordFile = filepath.Join(dir, "none")
		},
	} {
		o := good
		change(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := good
	o.Config.Mode, o.Config.External.Username, o.Config.External.PasswordFile = config.EventBusExternal, "edge", pw
	e, err := New(o)
	if err != nil || e.password != "s3cret" {
		t.Errorf("New with a password file: %v, password %q", err, e.password)
	}
}

// TestConfigValidation checks the eventBus section through EdgeCore.Validate:
// each bad value is named by its field path.
func TestConfigValidation(t *testing.T) {
	def := config.DefaultEdgeCore()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c := def.EventBus; !c.Enable || c.Mode != "embedded" || c.Embedded.Listen != "127.0.0.1:1884" ||
		c.External.Server != "tcp://127.0.0.1:1883" || !strings.HasPrefix(c.External.ClientID, "tether-edgecore-") ||
		c.MaxPayloadBytes != 65536 {
		t.Errorf("defaults: %+v", c)
	}
	for _, tc := range []struct {
		field  string
		change func(*config.EventBus)
	}{
		{"eventBus.mode", func(c *config.EventBus) { c.Mode = "cloud" }},
		{"eventBus.embedded.listen", func(c *config.EventBus) { c.Embedded.Listen = "" }},
		{"eventBus.embedded.listen", func(c *config.EventBus) { c.Embedded.Listen = "1884" }},
		{"eventBus.maxPayloadBytes", func(c *config.EventBus) { c.MaxPayloadBytes = 0 }},
		{"eventBus.maxPayloadBytes", func(c *config.EventBus) { c.MaxPayloadBytes = 1 << 28 }},
		{"eventBus.external.server", func(c *config.EventBus) { c.Mode = "external"; c.External.Server = "" }},
		{"eventBus.external.server", func(c *config.EventBus) { c.Mode = "external"; c.External.Server = "http://b:1883" }},
		{"eventBus.external.server", func(c *config.EventBus) { c.Mode = "external"; c.External.Server = "tcp://b" }},
		{"eventBus.external.clientID", func(c *config.EventBus) { c.Mode = "external"; c.External.ClientID = "" }},
		{"eventBus.external.passwordFile", func(c *config.EventBus) { c.Mode = "external"; c.External.PasswordFile = "/pw" }},
	} {
		c := config.DefaultEdgeCore()
		tc.change(&c.EventBus)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: Validate = %v, want an error on %s", c.EventBus, err, tc.field)
		}
	}
	c := config.DefaultEdgeCore()
	c.EventBus = config.EventBus{Enable: false, Mode: "nonsense"}
	if err := c.Validate(); err != nil {
		t.Errorf("a disabled eventBus is not validated: %v", err)
	}
}
