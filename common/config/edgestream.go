package config

import "k8s.io/apimachinery/pkg/util/validation/field"

// EdgeStream configures the edge's kubelet-style server (container logs,
// exec, attach, port-forward) and its stream tunnel to cloudcore
// (edgeHub.server, port edgeHub.ports.stream).
type EdgeStream struct {
	// Enable runs EdgeStream when Edged runs: kubectl logs, exec, attach
	// and port-forward reach this node's pods. Default true.
	Enable bool `json:"enable"`
	// Address is where the server also listens on this host, for local
	// tools; keep it on loopback: it does not authenticate, and anyone who
	// can connect may read logs and exec in containers. Empty serves the
	// tunnel only. Default "127.0.0.1:10350".
	Address string `json:"address"`
}

func defaultEdgeStream() EdgeStream {
	return EdgeStream{Enable: true, Address: "127.0.0.1:10350"}
}

func (s EdgeStream) validate(p *field.Path) field.ErrorList {
	if !s.Enable || s.Address == "" {
		return nil
	}
	return validateHostPort(p.Child("address"), s.Address)
}
