package config

import (
	"net"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Transports EdgeHub can dial.
const (
	TransportWebSocket = "websocket"
	TransportQUIC      = "quic"
)

// HubPorts are cloudcore's ports.
type HubPorts struct {
	// WebSocket default 10000, QUIC default 10001, HTTPS (join) default
	// 10002, Stream (the stream tunnel, for logs and exec) default 10004.
	WebSocket int `json:"websocket"`
	QUIC      int `json:"quic"`
	HTTPS     int `json:"https"`
	Stream    int `json:"stream"`
}

// EdgeHub configures the edge's end of the tunnel.
type EdgeHub struct {
	// Server is cloudcore's host name or IP address, as named in its
	// serving certificate. Default 127.0.0.1.
	Server string   `json:"server"`
	Ports  HubPorts `json:"ports"`
	// Transport is websocket or quic. Default websocket.
	Transport string `json:"transport"`
	// Token is a join token, needed only until the node has a certificate.
	// TokenFile, if set, is read instead. Default empty.
	Token     string `json:"token"`
	TokenFile string `json:"tokenFile"`
	// PKIDir holds ca.crt, node.crt and node.key (mode 0600). Default /var/lib/tether/pki.
	PKIDir string `json:"pkiDir"`
	// KeepalivePeriod: a keepalive after this long without writing; the
	// cloud is lost after twice as long without a message. Default 15s.
	KeepalivePeriod Duration `json:"keepalivePeriod"`
	// ReconnectInitial and ReconnectMax bound the jittered exponential
	// back-off between connection attempts. Defaults 1s and 30s.
	ReconnectInitial Duration `json:"reconnectInitial"`
	ReconnectMax     Duration `json:"reconnectMax"`
	// UpstreamQPS and UpstreamBurst are the token bucket limiting messages
	// to the cloud. Defaults 100 and 200.
	UpstreamQPS   float64 `json:"upstreamQPS"`
	UpstreamBurst int     `json:"upstreamBurst"`
	// StatusWindow is how many statuses may await the cloud's ack. Default 128.
	StatusWindow int `json:"statusWindow"`
	// RequestTimeout bounds a request forwarded from the cloud to an edge module. Default 30s.
	RequestTimeout Duration `json:"requestTimeout"`
}

func defaultEdgeHub() EdgeHub {
	return EdgeHub{
		Server:           "127.0.0.1",
		Ports:            HubPorts{WebSocket: 10000, QUIC: 10001, HTTPS: 10002, Stream: 10004},
		Transport:        TransportWebSocket,
		PKIDir:           "/var/lib/tether/pki",
		KeepalivePeriod:  Duration{15 * time.Second},
		ReconnectInitial: Duration{time.Second},
		ReconnectMax:     Duration{30 * time.Second},
		UpstreamQPS:      100,
		UpstreamBurst:    200,
		StatusWindow:     128,
		RequestTimeout:   Duration{30 * time.Second},
	}
}

func (h EdgeHub) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if net.ParseIP(h.Server) == nil && len(validation.IsDNS1123Subdomain(h.Server)) > 0 {
		errs = append(errs, field.Invalid(p.Child("server"), h.Server, "must be an IP address or a DNS name"))
	}
	for name, port := range map[string]int{"websocket": h.Ports.WebSocket, "quic": h.Ports.QUIC, "https": h.Ports.HTTPS, "stream": h.Ports.Stream} {
		if port < 1 || port > 65535 {
			errs = append(errs, field.Invalid(p.Child("ports", name), port, "must be from 1 to 65535"))
		}
	}
	if h.Transport != TransportWebSocket && h.Transport != TransportQUIC {
		errs = append(errs, field.NotSupported(p.Child("transport"), h.Transport, []string{TransportWebSocket, TransportQUIC}))
	}
	if h.Token != "" && h.TokenFile != "" {
		errs = append(errs, field.Invalid(p.Child("tokenFile"), h.TokenFile, "set token or tokenFile, not both"))
	}
	if h.PKIDir == "" {
		errs = append(errs, field.Required(p.Child("pkiDir"), ""))
	}
	errs = append(errs, positiveDuration(p.Child("keepalivePeriod"), h.KeepalivePeriod)...)
	errs = append(errs, positiveDuration(p.Child("reconnectInitial"), h.ReconnectInitial)...)
	errs = append(errs, positiveDuration(p.Child("requestTimeout"), h.RequestTimeout)...)
	if h.ReconnectMax.Duration < h.ReconnectInitial.Duration {
		errs = append(errs, field.Invalid(p.Child("reconnectMax"), h.ReconnectMax.String(), "must not be below reconnectInitial"))
	}
	if h.UpstreamQPS <= 0 {
		errs = append(errs, field.Invalid(p.Child("upstreamQPS"), h.UpstreamQPS, "must be positive"))
	}
	errs = append(errs, positiveInt(p.Child("upstreamBurst"), h.UpstreamBurst)...)
	errs = append(errs, positiveInt(p.Child("statusWindow"), h.StatusWindow)...)
	return errs
}
