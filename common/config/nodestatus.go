package config

import (
	"net"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// NodeStatus configures how the edge registers its Node and reports on it.
type NodeStatus struct {
	// Labels are added to the Node at registration, after the edge role
	// labels. Default none.
	Labels map[string]string `json:"labels,omitempty"`
	// InternalIP is the address reported as the Node's InternalIP.
	// Default empty: the local address that routes to edgeHub.server.
	InternalIP string `json:"internalIP"`
	// MaxPods is the Node's pod capacity. Default 110.
	MaxPods int `json:"maxPods"`
	// UpdatePeriod is how often node status is reported. Default 10s.
	UpdatePeriod Duration `json:"updatePeriod"`
	// LeaseDuration is the Lease's leaseDurationSeconds, at least 1s; the
	// edge renews the Lease every quarter of it, as kubelets do. Default 40s.
	LeaseDuration Duration `json:"leaseDuration"`
	// Reserved is taken from capacity to give allocatable, per resource:
	// cpu and memory quantities, e.g. {cpu: 500m, memory: 256Mi}. Default
	// none.
	Reserved map[string]string `json:"reserved,omitempty"`
	// EventQPS is the rate of the token bucket limiting new events sent to
	// the cluster. Default 5.
	EventQPS float64 `json:"eventQPS"`
	// EventBurst is the size of that token bucket. Default 10.
	EventBurst int `json:"eventBurst"`
	// EventBuffer is how many events are kept while the cloud is away;
	// past it the oldest are dropped. Default 256.
	EventBuffer int `json:"eventBuffer"`
}

func defaultNodeStatus() NodeStatus {
	return NodeStatus{
		MaxPods:       110,
		UpdatePeriod:  Duration{10 * time.Second},
		LeaseDuration: Duration{40 * time.Second},
		EventQPS:      5,
		EventBurst:    10,
		EventBuffer:   256,
	}
}

func (n NodeStatus) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, v := range n.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(p.Child("labels").Key(k), k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(p.Child("labels").Key(k), v, msg))
		}
	}
	if n.InternalIP != "" && net.ParseIP(n.InternalIP) == nil {
		errs = append(errs, field.Invalid(p.Child("internalIP"), n.InternalIP, "must be an IP address"))
	}
	for k, v := range n.Reserved {
		if k != "cpu" && k != "memory" {
			errs = append(errs, field.NotSupported(p.Child("reserved"), k, []string{"cpu", "memory"}))
		} else if _, err := resource.ParseQuantity(v); err != nil {
			errs = append(errs, field.Invalid(p.Child("reserved").Key(k), v, err.Error()))
		}
	}
	errs = append(errs, positiveInt(p.Child("maxPods"), n.MaxPods)...)
	errs = append(errs, positiveDuration(p.Child("updatePeriod"), n.UpdatePeriod)...)
	if n.LeaseDuration.Duration < time.Second {
		errs = append(errs, field.Invalid(p.Child("leaseDuration"), n.LeaseDuration.String(), "must be at least 1s"))
	}
	if n.EventQPS <= 0 {
		errs = append(errs, field.Invalid(p.Child("eventQPS"), n.EventQPS, "must be positive"))
	}
	errs = append(errs, positiveInt(p.Child("eventBurst"), n.EventBurst)...)
	errs = append(errs, positiveInt(p.Child("eventBuffer"), n.EventBuffer)...)
	return errs
}
