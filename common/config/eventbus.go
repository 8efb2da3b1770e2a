package config

import (
	"net/url"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The MQTT sides EventBus can run on.
const (
	EventBusEmbedded = "embedded"
	EventBusExternal = "external"
)

// maxMQTTPayload is the largest payload an MQTT packet can carry (its
// remaining length is at most 268,435,455 bytes).
const maxMQTTPayload = 268435455 - 1024

// EventBus configures the edge's MQTT side: the $hw/events topics devices and
// mappers publish on.
type EventBus struct {
	// Enable runs EventBus. Default true.
	Enable bool `json:"enable"`
	// Mode is embedded (a broker inside edgecore) or external (a broker
	// such as Mosquitto, reached as a client). Default embedded.
	Mode string `json:"mode"`
	// Embedded configures the embedded broker.
	Embedded EmbeddedBroker `json:"embedded"`
	// External configures the connection to an external broker.
	External ExternalBroker `json:"external"`
	// MaxPayloadBytes is the largest payload EventBus hands on; larger ones
	// are dropped, and the embedded broker closes the connection of a
	// client that sends a packet more than 1 KiB larger. Default 65536.
	MaxPayloadBytes int `json:"maxPayloadBytes"`
}

// EmbeddedBroker configures the broker EventBus runs itself.
type EmbeddedBroker struct {
	// Listen is the host:port of its TCP listener. The broker is
	// anonymous: listen only where every client is trusted. Default
	// 127.0.0.1:1884.
	Listen string `json:"listen"`
}

// ExternalBroker configures EventBus as a client of another broker.
type ExternalBroker struct {
	// Server is the broker's URL (tcp://, mqtt://, ssl://, tls:// or
	// mqtts://). EventBus reconnects and subscribes again after every
	// loss. Default tcp://127.0.0.1:1883.
	Server string `json:"server"`
	// ClientID is EventBus's MQTT client ID; it must be unique on the
	// broker, which keeps its session (persistent). Default
	// tether-edgecore-<host name>, lower-cased (the node name's default).
	ClientID string `json:"clientID"`
	// Username is the user name sent to the broker when set. Default
	// empty.
	Username string `json:"username,omitempty"`
	// PasswordFile holds the password (a trailing newline is ignored);
	// only with username. Default empty: no password.
	PasswordFile string `json:"passwordFile,omitempty"`
}

func defaultEventBus(host string) EventBus {
	return EventBus{
		Enable:          true,
		Mode:            EventBusEmbedded,
		Embedded:        EmbeddedBroker{Listen: "127.0.0.1:1884"},
		External:        ExternalBroker{Server: "tcp://127.0.0.1:1883", ClientID: "tether-edgecore-" + host},
		MaxPayloadBytes: 65536,
	}
}

func (e EventBus) validate(p *field.Path) field.ErrorList {
	if !e.Enable {
		return nil
	}
	var errs field.ErrorList
	if e.MaxPayloadBytes < 1 || e.MaxPayloadBytes > maxMQTTPayload {
		errs = append(errs, field.Invalid(p.Child("maxPayloadBytes"), e.MaxPayloadBytes, "must be 1 to 268434431"))
	}
	switch e.Mode {
	case EventBusEmbedded:
		lp := p.Child("embedded", "listen")
		if e.Embedded.Listen == "" {
			return append(errs, field.Required(lp, ""))
		}
		return append(errs, validateHostPort(lp, e.Embedded.Listen)...)
	case EventBusExternal:
		return append(errs, e.External.validate(p.Child("external"))...)
	default:
		return append(errs, field.NotSupported(p.Child("mode"), e.Mode, []string{EventBusEmbedded, EventBusExternal}))
	}
}

func (x ExternalBroker) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	u, err := url.Parse(x.Server)
	switch {
	case x.Server == "":
		errs = append(errs, field.Required(p.Child("server"), ""))
	case err != nil:
		errs = append(errs, field.Invalid(p.Child("server"), x.Server, err.Error()))
	case u.Scheme != "tcp" && u.Scheme != "mqtt" && u.Scheme != "ssl" && u.Scheme != "tls" && u.Scheme != "mqtts":
		errs = append(errs, field.Invalid(p.Child("server"), x.Server, "scheme must be tcp, mqtt, ssl, tls or mqtts"))
	case u.Port() == "":
		errs = append(errs, field.Invalid(p.Child("server"), x.Server, "must have host:port"))
	}
	if x.ClientID == "" {
		errs = append(errs, field.Required(p.Child("clientID"), ""))
	} else if len(x.ClientID) > 65535 || !utf8.ValidString(x.ClientID) {
		errs = append(errs, field.Invalid(p.Child("clientID"), x.ClientID, "must be UTF-8 of at most 65535 bytes"))
	}
	if x.PasswordFile != "" && x.Username == "" {
		errs = append(errs, field.Invalid(p.Child("passwordFile"), x.PasswordFile, "needs username (MQTT sends a password only with a user name)"))
	}
	return errs
}
