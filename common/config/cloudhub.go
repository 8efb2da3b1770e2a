package config

import (
	"net"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// KubeAPI says how cloudcore reaches the kube-apiserver.
type KubeAPI struct {
	// Kubeconfig is a kubeconfig file; empty means the in-cluster config
	// (the pod's service account). Default empty.
	Kubeconfig string `json:"kubeconfig"`
	// QPS is the client-side rate limit towards the kube-apiserver, for
	// each of cloudcore's two clients (core resources; Devices and
	// DeviceModels). Default 50.
	QPS float32 `json:"qps"`
	// Burst is the burst of that rate limit. Default 100.
	Burst int `json:"burst"`
}

func defaultKubeAPI() KubeAPI { return KubeAPI{QPS: 50, Burst: 100} }

func (k KubeAPI) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if k.QPS <= 0 {
		errs = append(errs, field.Invalid(p.Child("qps"), k.QPS, "must be positive"))
	}
	if k.Burst < 1 {
		errs = append(errs, field.Invalid(p.Child("burst"), k.Burst, "must be at least 1"))
	}
	return errs
}

// Listener is one server socket.
type Listener struct {
	// Enable turns the server on.
	Enable bool `json:"enable"`
	// Address is host:port; an empty host listens on every address.
	Address string `json:"address"`
}

func (l Listener) validate(p *field.Path) field.ErrorList {
	if !l.Enable {
		return nil
	}
	return validateHostPort(p.Child("address"), l.Address)
}

// CASource says where cloudcore's certificate authority comes from: the
// files when both are set, else the Secret (created with a new CA the first
// time, and shared by every replica).
type CASource struct {
	// CertFile is the CA certificate, a PEM file; set with keyFile.
	// Default empty: the CA is the Secret secretName.
	CertFile string `json:"certFile"`
	// KeyFile is the CA's private key, a PEM file; set with certFile.
	// Default empty.
	KeyFile string `json:"keyFile"`
	// SecretName is the Secret (type kubernetes.io/tls) in
	// cloudHub.namespace holding the CA, created with a new CA the first
	// time and shared by every replica. Default "tether-ca".
	SecretName string `json:"secretName"`
}

// CloudHub configures the tunnel server, the join server and the
// certificates and tokens behind them.
type CloudHub struct {
	// Namespace holds the CA Secret and the join tokens: cloudcore's own
	// namespace, created if missing and cloudcore may. Default
	// "tether-system".
	Namespace string `json:"namespace"`
	// AdvertiseAddresses are the IP addresses and DNS names edges use to
	// reach cloudcore; the serving certificate names each. Default
	// [127.0.0.1, localhost].
	AdvertiseAddresses []string `json:"advertiseAddresses"`
	// WebSocket is the tunnel over WebSocket. Default enabled on :10000.
	WebSocket Listener `json:"websocket"`
	// QUIC is the tunnel over QUIC (UDP). Default enabled on :10001.
	QUIC Listener `json:"quic"`
	// HTTPS serves the CA and signs node certificates. Default enabled on :10002.
	HTTPS Listener `json:"https"`
	CA    CASource `json:"ca"`
	// NodeLimit is how many nodes may be connected at once; past it a new
	// node is refused as unavailable (it retries). Default 1000.
	NodeLimit int `json:"nodeLimit"`
	// KeepalivePeriod: the hub sends a keepalive after this long without
	// writing, and drops a node silent for twice as long. Default 15s.
	KeepalivePeriod Duration `json:"keepalivePeriod"`
	// SyncWindow is how many sync messages to a node may be in flight
	// before its ack. Default 128.
	SyncWindow int `json:"syncWindow"`
	// RequestTimeout bounds a request forwarded from an edge to a cloud module. Default 30s.
	RequestTimeout Duration `json:"requestTimeout"`
	// TokenTTL is the lifetime of a new join token. Default 24h.
	TokenTTL Duration `json:"tokenTTL"`
	// NodeCertificateValidity is the lifetime of a node certificate; edges
	// renew theirs at 70 to 90% of it. Default 8760h (a year).
	NodeCertificateValidity Duration `json:"nodeCertificateValidity"`
}

func defaultCloudHub() CloudHub {
	return CloudHub{
		Namespace:               "tether-system",
		AdvertiseAddresses:      []string{"127.0.0.1", "localhost"},
		WebSocket:               Listener{Enable: true, Address: ":10000"},
		QUIC:                    Listener{Enable: true, Address: ":10001"},
		HTTPS:                   Listener{Enable: true, Address: ":10002"},
		CA:                      CASource{SecretName: "tether-ca"},
		NodeLimit:               1000,
		KeepalivePeriod:         Duration{15 * time.Second},
		SyncWindow:              128,
		RequestTimeout:          Duration{30 * time.Second},
		TokenTTL:                Duration{24 * time.Hour},
		NodeCertificateValidity: Duration{365 * 24 * time.Hour},
	}
}

func (h CloudHub) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(h.Namespace) {
		errs = append(errs, field.Invalid(p.Child("namespace"), h.Namespace, msg))
	}
	if len(h.AdvertiseAddresses) == 0 {
		errs = append(errs, field.Required(p.Child("advertiseAddresses"), "the serving certificate needs at least one address or name"))
	}
	for i, a := range h.AdvertiseAddresses {
		if net.ParseIP(a) == nil && len(validation.IsDNS1123Subdomain(a)) > 0 {
			errs = append(errs, field.Invalid(p.Child("advertiseAddresses").Index(i), a, "must be an IP address or a DNS name"))
		}
	}
	if !h.WebSocket.Enable && !h.QUIC.Enable {
		errs = append(errs, field.Invalid(p.Child("websocket", "enable"), false, "enable websocket, quic or both"))
	}
	errs = append(errs, h.WebSocket.validate(p.Child("websocket"))...)
	errs = append(errs, h.QUIC.validate(p.Child("quic"))...)
	errs = append(errs, h.HTTPS.validate(p.Child("https"))...)
	if (h.CA.CertFile == "") != (h.CA.KeyFile == "") {
		errs = append(errs, field.Invalid(p.Child("ca", "keyFile"), h.CA.KeyFile, "set certFile and keyFile together"))
	}
	if h.CA.CertFile == "" {
		for _, msg := range validation.IsDNS1123Subdomain(h.CA.SecretName) {
			errs = append(errs, field.Invalid(p.Child("ca", "secretName"), h.CA.SecretName, msg))
		}
	}
	errs = append(errs, positiveInt(p.Child("nodeLimit"), h.NodeLimit)...)
	errs = append(errs, positiveInt(p.Child("syncWindow"), h.SyncWindow)...)
	errs = append(errs, positiveDuration(p.Child("keepalivePeriod"), h.KeepalivePeriod)...)
	errs = append(errs, positiveDuration(p.Child("requestTimeout"), h.RequestTimeout)...)
	errs = append(errs, positiveDuration(p.Child("tokenTTL"), h.TokenTTL)...)
	errs = append(errs, positiveDuration(p.Child("nodeCertificateValidity"), h.NodeCertificateValidity)...)
	return errs
}

func positiveInt(p *field.Path, n int) field.ErrorList {
	if n < 1 {
		return field.ErrorList{field.Invalid(p, n, "must be at least 1")}
	}
	return nil
}

func positiveDuration(p *field.Path, d Duration) field.ErrorList {
	if d.Duration <= 0 {
		return field.ErrorList{field.Invalid(p, d.String(), "must be positive")}
	}
	return nil
}
