package podruntime

import (
	"bufio"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The resolver's limits, as the kubelet applies them to a merged config.
const (
	maxNameservers = 3
	maxSearches    = 32
)

// dnsConfig is the pod's resolv.conf, or nil for the runtime to copy the
// host's:
//   - ClusterFirst (or empty) without hostNetwork, and ClusterFirstWithHostNet:
//     the cluster's DNS servers, searches <ns>.svc.<domain>, svc.<domain>,
//     <domain>, and ndots:5; without ClusterDNS these fall back to Default.
//   - None: spec.dnsConfig alone.
//   - Default: the host's, so nil unless spec.dnsConfig adds to it.
//
// Except under None, spec.dnsConfig is merged in: its servers and searches
// appended, its options overriding by name.
func dnsConfig(pod *corev1.Pod, p SandboxParams) *runtimeapi.DNSConfig {
	extra := pod.Spec.DNSConfig
	switch policy := pod.Spec.DNSPolicy; {
	case policy == corev1.DNSNone:
		return mergeDNS(&runtimeapi.DNSConfig{}, extra)
	case len(p.ClusterDNS) > 0 && (policy == corev1.DNSClusterFirstWithHostNet ||
		(policy == corev1.DNSClusterFirst || policy == "") && !pod.Spec.HostNetwork):
		base := &runtimeapi.DNSConfig{
			Servers:  slices.Clone(p.ClusterDNS),
			Searches: clusterSearches(pod.Namespace, p.ClusterDomain),
			Options:  []string{"ndots:5"},
		}
		return mergeDNS(base, extra)
	}
	if extra == nil {
		return nil
	}
	base := &runtimeapi.DNSConfig{}
	if p.HostDNS != nil {
		base = &runtimeapi.DNSConfig{
			Servers:  slices.Clone(p.HostDNS.Servers),
			Searches: slices.Clone(p.HostDNS.Searches),
			Options:  slices.Clone(p.HostDNS.Options),
		}
	}
	return mergeDNS(base, extra)
}

func clusterSearches(ns, domain string) []string {
	if domain == "" {
		return nil
	}
	return []string{ns + ".svc." + domain, "svc." + domain, domain}
}

// mergeDNS appends extra's servers and searches to base's (once each, up
// to the resolver's limits) and sets its options over base's by name.
func mergeDNS(base *runtimeapi.DNSConfig, extra *corev1.PodDNSConfig) *runtimeapi.DNSConfig {
	if extra != nil {
		base.Servers = appendNew(base.Servers, extra.Nameservers...)
		base.Searches = appendNew(base.Searches, extra.Searches...)
		for _, o := range extra.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			base.Options = setOption(base.Options, opt)
		}
	}
	if len(base.Servers) > maxNameservers {
		base.Servers = base.Servers[:maxNameservers]
	}
	if len(base.Searches) > maxSearches {
		base.Searches = base.Searches[:maxSearches]
	}
	return base
}

func appendNew(list []string, add ...string) []string {
	for _, s := range add {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

// setOption replaces the option of the same name as opt ("name" or
// "name:value") in opts, or appends it.
func setOption(opts []string, opt string) []string {
	name, _, _ := strings.Cut(opt, ":")
	for i, o := range opts {
		if n, _, _ := strings.Cut(o, ":"); n == name {
			opts[i] = opt
			return opts
		}
	}
	return append(opts, opt)
}

// ParseResolvConf reads the nameserver, search (or domain) and options
// lines of a resolv.conf; a later search or domain line replaces an
// earlier one, as the resolver does.
func ParseResolvConf(r io.Reader) (*runtimeapi.DNSConfig, error) {
	cfg := &runtimeapi.DNSConfig{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(fields) > 1 {
				cfg.Servers = append(cfg.Servers, fields[1])
			}
		case "search", "domain":
			cfg.Searches = slices.Clone(fields[1:])
		case "options":
			for _, o := range fields[1:] {
				cfg.Options = setOption(cfg.Options, o)
			}
		}
	}
	return cfg, sc.Err()
}
