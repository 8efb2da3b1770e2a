package config

import (
	"net"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Edged configures the edge's pod runtime: the trimmed kubelet that runs
// the node's pods through CRI.
type Edged struct {
	// Enable runs pods on this node. Default true; false leaves the node
	// without a pod runtime (the tunnel, store and devices still run).
	Enable bool `json:"enable"`
	// RuntimeEndpoint is the CRI runtime service's socket, a unix://
	// address. Default unix:///run/containerd/containerd.sock.
	RuntimeEndpoint string `json:"runtimeEndpoint"`
	// ImageEndpoint is the CRI image service's socket, a unix:// address.
	// Default empty: the runtime endpoint.
	ImageEndpoint string `json:"imageEndpoint,omitempty"`
	// RuntimeRequestTimeout bounds every CRI call but image pulls.
	// Default 2m.
	RuntimeRequestTimeout Duration `json:"runtimeRequestTimeout"`
	// ImagePullTimeout bounds one image pull. Default 10m.
	ImagePullTimeout Duration `json:"imagePullTimeout"`
	// RootDir holds the pods' volumes (<rootDir>/pods/<uid>/volumes).
	// Default /var/lib/tether/edged.
	RootDir string `json:"rootDir"`
	// PodLogsDir holds container logs in the CRI format,
	// <podLogsDir>/<namespace>_<name>_<uid>/<container>/<attempt>.log.
	// Default /var/log/pods.
	PodLogsDir string `json:"podLogsDir"`
	// StaticPodPath is a folder of pod manifests (YAML or JSON) run as
	// static pods and reported as mirror pods. Default
	// /etc/tether/manifests; empty disables static pods.
	StaticPodPath string `json:"staticPodPath"`
	// StaticPodScanPeriod is how often the folder is read again.
	// Default 5s.
	StaticPodScanPeriod Duration `json:"staticPodScanPeriod"`
	// RelistPeriod is how often PLEG relists the runtime when the runtime
	// does not stream container events. Default 1s.
	RelistPeriod Duration `json:"relistPeriod"`
	// EventedRelistPeriod is the safety-net relist period while the
	// runtime streams container events. Default 30s.
	EventedRelistPeriod Duration `json:"eventedRelistPeriod"`
	// PLEGHealthThreshold: PLEG is unhealthy (the node NotReady) when no
	// relist has completed for this long. Default 3m.
	PLEGHealthThreshold Duration `json:"plegHealthThreshold"`
	// ClusterDNS are the nameservers of pods with dnsPolicy ClusterFirst;
	// empty gives pods the host's resolv.conf. Default none.
	ClusterDNS []string `json:"clusterDNS,omitempty"`
	// ClusterDomain is the DNS search domain under clusterDNS. Default
	// cluster.local.
	ClusterDomain string `json:"clusterDomain"`
	// ContainerGC removes dead containers.
	ContainerGC ContainerGC `json:"containerGC"`
	// ImageGC removes unused images when the image disk fills.
	ImageGC ImageGC `json:"imageGC"`
	// Pressure sets when the node reports MemoryPressure, DiskPressure
	// and PIDPressure.
	Pressure Pressure `json:"pressure"`
}

// ContainerGC configures the garbage collection of dead containers.
type ContainerGC struct {
	// Period between collections. Default 1m.
	Period Duration `json:"period"`
	// MinAge is how long a container must have been dead. Default 0s.
	MinAge Duration `json:"minAge"`
	// MaxPerContainer dead instances are kept per container of a live
	// pod, the newest. Default 2.
	MaxPerContainer int `json:"maxPerContainer"`
}

// ImageGC configures the garbage collection of images.
type ImageGC struct {
	// Period between checks. Default 5m.
	Period Duration `json:"period"`
	// HighThresholdPercent of the image disk used starts a collection,
	// which removes unused images, least recently used first, until
	// lowThresholdPercent is reached. 1 to 100; default 85.
	HighThresholdPercent int `json:"highThresholdPercent"`
	// LowThresholdPercent of the image disk used ends a collection; below
	// highThresholdPercent. Default 80.
	LowThresholdPercent int `json:"lowThresholdPercent"`
	// MinAge is how long an image must have been unused. Default 2m.
	MinAge Duration `json:"minAge"`
}

// Pressure holds the thresholds of the node's pressure conditions.
type Pressure struct {
	// MemoryAvailable below this is MemoryPressure. Default 100Mi.
	MemoryAvailable string `json:"memoryAvailable"`
	// DiskAvailablePercent of the root and image file systems below this
	// is DiskPressure. Default 10.
	DiskAvailablePercent int `json:"diskAvailablePercent"`
	// PIDAvailablePercent of pid_max below this is PIDPressure. Default 5.
	PIDAvailablePercent int `json:"pidAvailablePercent"`
}

func defaultEdged() Edged {
	return Edged{
		Enable:                true,
		RuntimeEndpoint:       "unix:///run/containerd/containerd.sock",
		RuntimeRequestTimeout: Duration{2 * time.Minute},
		ImagePullTimeout:      Duration{10 * time.Minute},
		RootDir:               "/var/lib/tether/edged",
		PodLogsDir:            "/var/log/pods",
		StaticPodPath:         "/etc/tether/manifests",
		StaticPodScanPeriod:   Duration{5 * time.Second},
		RelistPeriod:          Duration{time.Second},
		EventedRelistPeriod:   Duration{30 * time.Second},
		PLEGHealthThreshold:   Duration{3 * time.Minute},
		ClusterDomain:         "cluster.local",
		ContainerGC: ContainerGC{
			Period:          Duration{time.Minute},
			MaxPerContainer: 2,
		},
		ImageGC: ImageGC{
			Period:               Duration{5 * time.Minute},
			HighThresholdPercent: 85,
			LowThresholdPercent:  80,
			MinAge:               Duration{2 * time.Minute},
		},
		Pressure: Pressure{
			MemoryAvailable:      "100Mi",
			DiskAvailablePercent: 10,
			PIDAvailablePercent:  5,
		},
	}
}

// CRIImageEndpoint is the image service's endpoint: ImageEndpoint, or the
// runtime's when that is empty.
func (e Edged) CRIImageEndpoint() string {
	if e.ImageEndpoint != "" {
		return e.ImageEndpoint
	}
	return e.RuntimeEndpoint
}

func (e Edged) validate(p *field.Path) field.ErrorList {
	if !e.Enable {
		return nil
	}
	var errs field.ErrorList
	for _, f := range []struct {
		name, value string
	}{{"runtimeEndpoint", e.RuntimeEndpoint}, {"imageEndpoint", e.ImageEndpoint}} {
		if f.value != "" && !strings.HasPrefix(f.value, "unix://") {
			errs = append(errs, field.Invalid(p.Child(f.name), f.value, "must be a unix:// socket"))
		}
	}
	if e.RuntimeEndpoint == "" {
		errs = append(errs, field.Required(p.Child("runtimeEndpoint"), ""))
	}
	if e.RootDir == "" {
		errs = append(errs, field.Required(p.Child("rootDir"), ""))
	}
	if e.PodLogsDir == "" {
		errs = append(errs, field.Required(p.Child("podLogsDir"), ""))
	}
	for _, d := range []struct {
		name string
		d    Duration
	}{
		{"runtimeRequestTimeout", e.RuntimeRequestTimeout}, {"imagePullTimeout", e.ImagePullTimeout},
		{"staticPodScanPeriod", e.StaticPodScanPeriod}, {"relistPeriod", e.RelistPeriod},
		{"eventedRelistPeriod", e.EventedRelistPeriod}, {"plegHealthThreshold", e.PLEGHealthThreshold},
		{"containerGC.period", e.ContainerGC.Period}, {"imageGC.period", e.ImageGC.Period},
	} {
		errs = append(errs, positiveDuration(p.Child(d.name), d.d)...)
	}
	for i, ip := range e.ClusterDNS {
		if net.ParseIP(ip) == nil {
			errs = append(errs, field.Invalid(p.Child("clusterDNS").Index(i), ip, "must be an IP address"))
		}
	}
	if e.ContainerGC.MaxPerContainer < 0 {
		errs = append(errs, field.Invalid(p.Child("containerGC", "maxPerContainer"), e.ContainerGC.MaxPerContainer, "must not be negative"))
	}
	gc := e.ImageGC
	if gc.HighThresholdPercent < 1 || gc.HighThresholdPercent > 100 {
		errs = append(errs, field.Invalid(p.Child("imageGC", "highThresholdPercent"), gc.HighThresholdPercent, "must be 1 to 100"))
	}
	if gc.LowThresholdPercent < 0 || gc.LowThresholdPercent >= gc.HighThresholdPercent {
		errs = append(errs, field.Invalid(p.Child("imageGC", "lowThresholdPercent"), gc.LowThresholdPercent, "must be at least 0 and below highThresholdPercent"))
	}
	if _, err := resource.ParseQuantity(e.Pressure.MemoryAvailable); err != nil {
		errs = append(errs, field.Invalid(p.Child("pressure", "memoryAvailable"), e.Pressure.MemoryAvailable, err.Error()))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"diskAvailablePercent", e.Pressure.DiskAvailablePercent}, {"pidAvailablePercent", e.Pressure.PIDAvailablePercent}} {
		if f.v < 0 || f.v > 100 {
			errs = append(errs, field.Invalid(p.Child("pressure", f.name), f.v, "must be 0 to 100"))
		}
	}
	return errs
}
