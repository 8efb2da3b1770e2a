package config

import (
	"net"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CloudStream configures the stream server kube-apiserver reaches as every
// edge node's kubelet (kubectl logs, exec, attach, port-forward) and the
// stream tunnel edges dial to carry those requests.
type CloudStream struct {
	// Enable runs CloudStream and makes each edge Node's address and
	// kubelet port lead kube-apiserver to it. Default true.
	Enable bool `json:"enable"`
	// StreamAddress is the stream server kube-apiserver connects to.
	// Default ":10003".
	StreamAddress string `json:"streamAddress"`
	// TunnelAddress is where edges dial the stream tunnel. Default ":10004".
	TunnelAddress string `json:"tunnelAddress"`
	// NodeAddress is the IP address written as every edge Node's
	// InternalIP: where kube-apiserver reaches streamAddress. The edge's own
	// addresses become ExternalIP. Default: the first IP address in
	// cloudHub.advertiseAddresses.
	NodeAddress string `json:"nodeAddress"`
	// NodePort is the kubelet port written on every edge Node. Default 0:
	// streamAddress's port.
	NodePort int `json:"nodePort"`
	// KubeletClientCAFile is a PEM bundle of the CAs that sign the client
	// certificate kube-apiserver presents to kubelets (its
	// --kubelet-client-certificate). Default empty: the client CA
	// kube-apiserver publishes in the ConfigMap
	// kube-system/extension-apiserver-authentication (client-ca-file).
	KubeletClientCAFile string `json:"kubeletClientCAFile"`
}

func defaultCloudStream() CloudStream {
	return CloudStream{Enable: true, StreamAddress: ":10003", TunnelAddress: ":10004"}
}

func (s CloudStream) validate(p *field.Path, hub CloudHub) field.ErrorList {
	if !s.Enable {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, validateHostPort(p.Child("streamAddress"), s.StreamAddress)...)
	errs = append(errs, validateHostPort(p.Child("tunnelAddress"), s.TunnelAddress)...)
	if s.NodeAddress != "" && net.ParseIP(s.NodeAddress) == nil {
		errs = append(errs, field.Invalid(p.Child("nodeAddress"), s.NodeAddress, "must be an IP address"))
	}
	if s.NodeAddress == "" && firstIP(hub.AdvertiseAddresses) == "" {
		errs = append(errs, field.Required(p.Child("nodeAddress"), "cloudHub.advertiseAddresses holds no IP address to default it to"))
	}
	if s.NodePort < 0 || s.NodePort > 65535 {
		errs = append(errs, field.Invalid(p.Child("nodePort"), s.NodePort, "must be from 0 to 65535"))
	}
	return errs
}

// KubeletEndpoint is the address and port cloudcore writes on every edge
// Node: NodeAddress and NodePort with their defaults applied. Call it on a
// validated config.
func (c *CloudCore) KubeletEndpoint() (ip string, port int) {
	s := c.CloudStream
	ip, port = s.NodeAddress, s.NodePort
	if ip == "" {
		ip = firstIP(c.CloudHub.AdvertiseAddresses)
	}
	if port == 0 {
		_, p, _ := net.SplitHostPort(s.StreamAddress)
		port, _ = strconv.Atoi(p)
	}
	return ip, port
}

// firstIP is the first IP address among addrs, "" when there is none.
func firstIP(addrs []string) string {
	for _, a := range addrs {
		if net.ParseIP(a) != nil {
			return a
		}
	}
	return ""
}
