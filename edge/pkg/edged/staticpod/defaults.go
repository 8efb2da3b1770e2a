package staticpod

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The apiserver's defaults that setDefaults applies.
const (
	defaultGracePeriod        int64 = 30
	defaultSchedulerName            = "default-scheduler"
	defaultTerminationPath          = "/dev/termination-log"
	defaultVolumeMode         int32 = 0o644
	defaultProbeTimeout       int32 = 1
	defaultProbePeriod        int32 = 10
	defaultProbeSuccess       int32 = 1
	defaultProbeFailure       int32 = 3
	defaultFieldRefAPIVersion       = "v1"
)

// setDefaults sets what the apiserver would have defaulted in a pod it
// stored (k8s.io/kubernetes/pkg/apis/core/v1 defaults), as far as Edged
// reads it: a static pod never passes through the apiserver.
func setDefaults(pod *corev1.Pod) {
	s := &pod.Spec
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = new(defaultGracePeriod)
	}
	if s.SchedulerName == "" {
		s.SchedulerName = defaultSchedulerName
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	if s.EnableServiceLinks == nil {
		s.EnableServiceLinks = new(true)
	}
	for i := range s.InitContainers {
		containerDefaults(&s.InitContainers[i], s.HostNetwork)
	}
	for i := range s.Containers {
		containerDefaults(&s.Containers[i], s.HostNetwork)
	}
	for i := range s.Volumes {
		volumeDefaults(&s.Volumes[i])
	}
}

func containerDefaults(c *corev1.Container, hostNetwork bool) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = pullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = defaultTerminationPath
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		p := &c.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if hostNetwork && p.HostPort == 0 {
			p.HostPort = p.ContainerPort
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		probeDefaults(p)
	}
	if l := c.Lifecycle; l != nil {
		for _, h := range []*corev1.LifecycleHandler{l.PostStart, l.PreStop} {
			if h != nil {
				httpGetDefaults(h.HTTPGet)
			}
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil {
			fieldRefDefaults(vf.FieldRef)
		}
	}
	// Requests default to the limits given.
	for name, q := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; !ok {
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			c.Resources.Requests[name] = q.DeepCopy()
		}
	}
}

// pullPolicy is the default pull policy of image: Always for :latest or
// no tag, IfNotPresent for another tag or a digest.
func pullPolicy(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	tag := ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		tag = image[i+1:]
	}
	if tag == "" || tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func probeDefaults(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = defaultProbeTimeout
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = defaultProbePeriod
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = defaultProbeSuccess
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = defaultProbeFailure
	}
	httpGetDefaults(p.HTTPGet)
}

func httpGetDefaults(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func fieldRefDefaults(f *corev1.ObjectFieldSelector) {
	if f != nil && f.APIVersion == "" {
		f.APIVersion = defaultFieldRefAPIVersion
	}
}

func volumeDefaults(v *corev1.Volume) {
	src := &v.VolumeSource
	switch {
	case *src == corev1.VolumeSource{}:
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	case src.HostPath != nil && src.HostPath.Type == nil:
		src.HostPath.Type = new(corev1.HostPathUnset)
	case src.Secret != nil && src.Secret.DefaultMode == nil:
		src.Secret.DefaultMode = new(defaultVolumeMode)
	case src.ConfigMap != nil && src.ConfigMap.DefaultMode == nil:
		src.ConfigMap.DefaultMode = new(defaultVolumeMode)
	case src.Projected != nil && src.Projected.DefaultMode == nil:
		src.Projected.DefaultMode = new(defaultVolumeMode)
	case src.DownwardAPI != nil:
		if src.DownwardAPI.DefaultMode == nil {
			src.DownwardAPI.DefaultMode = new(defaultVolumeMode)
		}
		for i := range src.DownwardAPI.Items {
			fieldRefDefaults(src.DownwardAPI.Items[i].FieldRef)
		}
	}
}
