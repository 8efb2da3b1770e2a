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
	// WebSocket is the port of cloudcore's tunnel over WebSocket
	// (cloudHub.websocket). Default 10000.
	WebSocket int `json:"websocket"`
	// QUIC is the port of cloudcore's tunnel over QUIC (cloudHub.quic).
	// Default 10001.
	QUIC int `json:"quic"`
	// HTTPS is the port of cloudcore's join server (cloudHub.https), which
	// serves the CA and signs node certificates. Default 10002.
	HTTPS int `json:"https"`
	// Stream is the port of cloudcore's stream tunnel
	// (cloudStream.tunnelAddress), which carries kubectl logs, exec, attach
	// and port-forward. Default 10004.
	Stream int `json:"stream"`
}

// EdgeHub configures the edge's end of the tunnel.
type EdgeHub struct {
	// Server is cloudcore's host name or IP address, as named in its
	// serving certificate (cloudHub.advertiseAddresses). Default 127.0.0.1.
	Server string `json:"server"`
	// Ports are cloudcore's tunnel, join and stream tunnel ports.
	Ports HubPorts `json:"ports"`
	// Transport is websocket (over TCP) or quic (over UDP). Default
	// websocket.
	Transport string `json:"transport"`
	// Token is a join token, needed only until the node has its
	// certificate. Default empty.
	Token string `json:"token"`
	// TokenFile is a file holding the join token, for keeping it out of
	// the config; set token or tokenFile, not both. Default empty.
	TokenFile string `json:"tokenFile"`
	// PKIDir holds ca.crt, node.crt and node.key (mode 0600). Default /var/lib/tether/pki.
	PKIDir string `json:"pkiDir"`
	// KeepalivePeriod: the edge sends a keepalive after this long without
	// sending, and counts the cloud lost after twice as long without a
	// message. Default 15s.
	KeepalivePeriod Duration `json:"keepalivePeriod"`
	// ReconnectInitial is the first wait of the jittered exponential
	// back-off between connection attempts. Default 1s.
	ReconnectInitial Duration `json:"reconnectInitial"`
	// ReconnectMax is the longest wait of that back-off; not below
	// reconnectInitial. Default 30s.
	ReconnectMax Duration `json:"reconnectMax"`
	// UpstreamQPS is the rate of the token bucket limiting messages to the
	// cloud; acks and keepalives are exempt. Default 100.
	UpstreamQPS float64 `json:"upstreamQPS"`
	// UpstreamBurst is the size of that token bucket. Default 200.
	UpstreamBurst int `json:"upstreamBurst"`
	// StatusWindow is how many statuses may be sent and not yet
	// acknowledged by the cloud. Default 128.
	StatusWindow int `json:"statusWindow"`
	// RequestTimeout bounds a request from the cloud to an edge module, and
	// a query MetaManager forwards to the cloud. Default 30s.
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
