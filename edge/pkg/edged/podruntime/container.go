package podruntime

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
	"github.com/tether-edge/tether/edge/pkg/edged/runstate"
)

// Annotations Edged puts on every container (the kubelet's names).
const (
	AnnotationRestartCount             = "io.kubernetes.container.restartCount"
	AnnotationTerminationMessagePath   = "io.kubernetes.container.terminationMessagePath"
	AnnotationTerminationMessagePolicy = "io.kubernetes.container.terminationMessagePolicy"
	AnnotationTerminationGracePeriod   = "io.kubernetes.pod.terminationGracePeriod"
)

// ContainerLogPath is the log file of a container's attempt, relative to
// its sandbox's LogDirectory: <name>/<attempt>.log.
func ContainerLogPath(name string, attempt uint32) string {
	return path.Join(name, strconv.FormatUint(uint64(attempt), 10)+".log")
}

// ContainerConfig is c's CRI container config (pure, exported for tests).
// Command and args are passed as they are (command replaces the image's
// entrypoint, args its cmd), with $(VAR) references expanded from env.
// It fails when runAsNonRoot is set and the user is explicitly root.
func ContainerConfig(pod *corev1.Pod, c *corev1.Container, attempt uint32, env []containerspec.EnvVar, mounts []*runtimeapi.Mount) (*runtimeapi.ContainerConfig, error) {
	sc, err := containerSecurity(pod, c)
	if err != nil {
		return nil, err
	}
	lookup := envLookup(env)
	envs := make([]*runtimeapi.KeyValue, len(env))
	for i, e := range env {
		envs[i] = &runtimeapi.KeyValue{Key: e.Name, Value: []byte(e.Value)}
	}
	labels := podLabels(pod)
	labels[runstate.LabelContainerName] = c.Name
	r := containerspec.LinuxResources(c)
	return &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: attempt},
		Image:       &runtimeapi.ImageSpec{Image: c.Image},
		Command:     expandAll(c.Command, lookup),
		Args:        expandAll(c.Args, lookup),
		WorkingDir:  c.WorkingDir,
		Envs:        envs,
		Mounts:      mounts,
		LogPath:     ContainerLogPath(c.Name, attempt),
		Stdin:       c.Stdin,
		StdinOnce:   c.StdinOnce,
		Tty:         c.TTY,
		Labels:      labels,
		Annotations: containerAnnotations(pod, c, attempt),
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{
				CpuShares: r.CPUShares, CpuPeriod: r.CPUPeriod, CpuQuota: r.CPUQuota, MemoryLimitInBytes: r.MemoryLimit,
			},
			SecurityContext: sc,
		},
	}, nil
}

func containerAnnotations(pod *corev1.Pod, c *corev1.Container, attempt uint32) map[string]string {
	a := map[string]string{
		AnnotationRestartCount:             strconv.FormatUint(uint64(attempt), 10),
		AnnotationTerminationMessagePath:   c.TerminationMessagePath,
		AnnotationTerminationMessagePolicy: string(c.TerminationMessagePolicy),
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		a[AnnotationTerminationGracePeriod] = strconv.FormatInt(*g, 10)
	}
	maps.DeleteFunc(a, func(_, v string) bool { return v == "" })
	return a
}

// containerSecurity is c's Linux security context: the container's
// settings over the pod's, the pod's groups, and the sandbox's namespaces.
func containerSecurity(pod *corev1.Pod, c *corev1.Container) (*runtimeapi.LinuxContainerSecurityContext, error) {
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	user, group, nonRoot := psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
	if csc.RunAsUser != nil {
		user = csc.RunAsUser
	}
	if csc.RunAsGroup != nil {
		group = csc.RunAsGroup
	}
	if csc.RunAsNonRoot != nil {
		nonRoot = csc.RunAsNonRoot
	}
	if nonRoot != nil && *nonRoot && user != nil && *user == 0 {
		return nil, errors.New("container's runAsUser breaks non-root policy (runAsNonRoot with runAsUser 0)")
	}
	sc := &runtimeapi.LinuxContainerSecurityContext{
		NamespaceOptions:   namespaces(pod),
		RunAsUser:          int64Value(user),
		RunAsGroup:         int64Value(group),
		SupplementalGroups: supplementalGroups(psc),
		Privileged:         csc.Privileged != nil && *csc.Privileged,
		ReadonlyRootfs:     csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem,
		NoNewPrivs:         csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation,
	}
	if caps := csc.Capabilities; caps != nil {
		sc.Capabilities = &runtimeapi.Capability{
			AddCapabilities:  capNames(caps.Add),
			DropCapabilities: capNames(caps.Drop),
		}
	}
	return sc, nil
}

func capNames(caps []corev1.Capability) []string {
	var out []string
	for _, c := range caps {
		out = append(out, string(c))
	}
	return out
}

func envLookup(env []containerspec.EnvVar) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

func expandAll(in []string, lookup func(string) (string, bool)) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = containerspec.Expand(s, lookup)
	}
	return out
}

// findContainer returns the init or app container of pod named name.
func findContainer(pod *corev1.Pod, name string) (*corev1.Container, error) {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i], nil
			}
		}
	}
	return nil, fmt.Errorf("pod %s/%s has no container %s", pod.Namespace, pod.Name, name)
}
