package podruntime

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/tether-edge/tether/edge/pkg/edged/containerspec"
)

func ptr[T any](v T) *T { return &v }

// testPod is a plain pod with one app container.
func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "shop", UID: "uid-1",
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"note": "x"},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}
}

var params = SandboxParams{
	NodeName: "edge-1", PodLogsDir: "/var/log/pods", ClusterDNS: []string{"10.96.0.10"},
	ClusterDomain: "cluster.local", HostHostname: "host-1",
	HostDNS: &runtimeapi.DNSConfig{Servers: []string{"192.0.2.53"}, Searches: []string{"lan"}, Options: []string{"ndots:1"}},
}

var clusterDNS = &runtimeapi.DNSConfig{
	Servers:  []string{"10.96.0.10"},
	Searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"},
	Options:  []string{"ndots:5"},
}

func TestSandboxConfigBasics(t *testing.T) {
	got, err := SandboxConfig(testPod(), 3, params)
	if err != nil {
		t.Fatal(err)
	}
	want := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "shop", Uid: "uid-1", Attempt: 3},
		Hostname:     "web",
		LogDirectory: "/var/log/pods/shop_web_uid-1",
		DnsConfig:    clusterDNS,
		Labels: map[string]string{"app": "web", "io.kubernetes.pod.uid": "uid-1",
			"io.kubernetes.pod.name": "web", "io.kubernetes.pod.namespace": "shop"},
		Annotations: map[string]string{"note": "x"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD,
				Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD},
		}},
	}
	if !proto.Equal(got, want) {
		t.Fatalf("sandbox config\n got %v\nwant %v", got, want)
	}
}

func TestSandboxConfig(t *testing.T) {
	long := strings.Repeat("a", 62) + "-b"
	cases := []struct {
		name   string
		modify func(*corev1.Pod)
		params func(*SandboxParams)
		check  func(t *testing.T, c *runtimeapi.PodSandboxConfig)
	}{
		{name: "hostNetwork: no hostname (the host's UTS namespace), node namespaces, host DNS", modify: func(p *corev1.Pod) {
			p.Spec.HostNetwork, p.Spec.HostPID, p.Spec.HostIPC = true, true, true
		}, check: func(t *testing.T, c *runtimeapi.PodSandboxConfig) {
			ns := c.Linux.SecurityContext.NamespaceOptions
			if c.Hostname != "" || c.DnsConfig != nil || ns.Network != runtimeapi.NamespaceMode_NODE ||
				ns.Pid != runtimeapi.NamespaceMode_NODE || ns.Ipc != runtimeapi.NamespaceMode_NODE {
				t.Errorf("hostname %q dns %v namespaces %v", c.Hostname, c.DnsConfig, ns)
			}
		}},
		{name: "spec.hostname, shared pid namespace", modify: func(p *corev1.Pod) {
			p.Spec.Hostname, p.Spec.ShareProcessNamespace = "front", ptr(true)
		}, check: func(t *testing.T, c *runtimeapi.PodSandboxConfig) {
			if c.Hostname != "front" || c.Linux.SecurityContext.NamespaceOptions.Pid != runtimeapi.NamespaceMode_POD {
				t.Errorf("hostname %q, pid %v", c.Hostname, c.Linux.SecurityContext.NamespaceOptions.Pid)
			}
		}},
		{name: "long name cut to 63 without trailing dash", modify: func(p *corev1.Pod) { p.Name = long + "cdef" },
			check: func(t *testing.T, c *runtimeapi.PodSandboxConfig) {
				if c.Hostname != strings.Repeat("a", 62) {
					t.Errorf("hostname %q", c.Hostname)
				}
			}},
		{name: "ClusterFirst with hostNetwork falls back to the host", modify: func(p *corev1.Pod) {
			p.Spec.HostNetwork, p.Spec.DNSPolicy = true, corev1.DNSClusterFirst
		}, check: wantDNS(nil)},
		{name: "ClusterFirstWithHostNet", modify: func(p *corev1.Pod) {
			p.Spec.HostNetwork, p.Spec.DNSPolicy = true, corev1.DNSClusterFirstWithHostNet
		}, check: wantDNS(clusterDNS)},
		{name: "ClusterFirst without cluster DNS", params: func(p *SandboxParams) { p.ClusterDNS = nil },
			check: wantDNS(nil)},
		{name: "ClusterFirst merges dnsConfig", modify: func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "10.96.0.10"}, Searches: []string{"corp"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}, {Name: "edns0"}}}
		}, check: wantDNS(&runtimeapi.DNSConfig{Servers: []string{"10.96.0.10", "1.1.1.1"},
			Searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp"},
			Options:  []string{"ndots:2", "edns0"}})},
		{name: "None is dnsConfig alone", modify: func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}}
		}, check: wantDNS(&runtimeapi.DNSConfig{Servers: []string{"9.9.9.9"}})},
		{name: "Default without dnsConfig is the runtime's copy", modify: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSDefault },
			check: wantDNS(nil)},
		{name: "Default merges dnsConfig into the host's", modify: func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSDefault
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"9.9.9.9"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("3")}}}
		}, check: wantDNS(&runtimeapi.DNSConfig{Servers: []string{"192.0.2.53", "9.9.9.9"}, Searches: []string{"lan"}, Options: []string{"ndots:3"}})},
		{name: "host ports become port mappings", modify: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{ContainerPort: 80, HostPort: 8080},
				{ContainerPort: 53, HostPort: 5353, Protocol: corev1.ProtocolUDP, HostIP: "127.0.0.1"},
				{ContainerPort: 9090},
			}
		}, check: func(t *testing.T, c *runtimeapi.PodSandboxConfig) {
			want := []*runtimeapi.PortMapping{
				{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 8080},
				{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 5353, HostIp: "127.0.0.1"},
			}
			if len(c.PortMappings) != len(want) || !proto.Equal(c.PortMappings[0], want[0]) || !proto.Equal(c.PortMappings[1], want[1]) {
				t.Errorf("port mappings %v", c.PortMappings)
			}
		}},
		{name: "pod security context and sysctls; a privileged init container makes it privileged", modify: func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(2000)),
				FSGroup: ptr(int64(3000)), SupplementalGroups: []int64{4000},
				Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}}
		}, check: func(t *testing.T, c *runtimeapi.PodSandboxConfig) {
			sc := c.Linux.SecurityContext
			if sc.RunAsUser.GetValue() != 1000 || sc.RunAsGroup.GetValue() != 2000 || !sc.Privileged ||
				!reflect.DeepEqual(sc.SupplementalGroups, []int64{3000, 4000}) ||
				!reflect.DeepEqual(c.Linux.Sysctls, map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}) {
				t.Errorf("security context %v, sysctls %v", sc, c.Linux.Sysctls)
			}
		}},
		{name: "pod labels cannot override Edged's", modify: func(p *corev1.Pod) {
			p.Labels["io.kubernetes.pod.uid"] = "forged"
		}, check: func(t *testing.T, c *runtimeapi.PodSandboxConfig) {
			if c.Labels["io.kubernetes.pod.uid"] != "uid-1" {
				t.Errorf("labels %v", c.Labels)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod, p := testPod(), params
			if c.modify != nil {
				c.modify(pod)
			}
			if c.params != nil {
				c.params(&p)
			}
			got, err := SandboxConfig(pod, 0, p)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, got)
		})
	}
}

func wantDNS(want *runtimeapi.DNSConfig) func(*testing.T, *runtimeapi.PodSandboxConfig) {
	return func(t *testing.T, c *runtimeapi.PodSandboxConfig) {
		t.Helper()
		if !proto.Equal(c.DnsConfig, want) {
			t.Errorf("dns config %v, want %v", c.DnsConfig, want)
		}
	}
}

func TestSandboxConfigBadProtocol(t *testing.T) {
	pod := testPod()
	pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80, Protocol: "ICMP"}}
	if _, err := SandboxConfig(pod, 0, params); err == nil || !strings.Contains(err.Error(), "ICMP") {
		t.Fatalf("err %v, want the unknown protocol named", err)
	}
}

func TestLogDir(t *testing.T) {
	if got := LogDir("/var/log/pods", "ns", "name", "uid"); got != filepath.FromSlash("/var/log/pods/ns_name_uid") {
		t.Fatalf("LogDir %q", got)
	}
}

func TestContainerConfigBasics(t *testing.T) {
	pod := testPod()
	pod.Spec.TerminationGracePeriodSeconds = ptr(int64(30))
	c := &corev1.Container{
		Name: "app", Image: "registry.example.com/app:1", Command: []string{"/bin/app", "--mode=$(MODE)"},
		Args: []string{"$(GREETING) $(MISSING)", "$$(MODE)"}, WorkingDir: "/work", Stdin: true, StdinOnce: true, TTY: true,
		TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
	}
	env := []containerspec.EnvVar{{Name: "MODE", Value: "fast"}, {Name: "GREETING", Value: "hi"}}
	mounts := []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: "/var/lib/x"}}
	got, err := ContainerConfig(pod, c, 2, env, mounts)
	if err != nil {
		t.Fatal(err)
	}
	want := &runtimeapi.ContainerConfig{
		Metadata:   &runtimeapi.ContainerMetadata{Name: "app", Attempt: 2},
		Image:      &runtimeapi.ImageSpec{Image: "registry.example.com/app:1"},
		Command:    []string{"/bin/app", "--mode=fast"},
		Args:       []string{"hi $(MISSING)", "$(MODE)"},
		WorkingDir: "/work",
		Envs:       []*runtimeapi.KeyValue{{Key: "MODE", Value: []byte("fast")}, {Key: "GREETING", Value: []byte("hi")}},
		Mounts:     mounts,
		LogPath:    "app/2.log",
		Stdin:      true, StdinOnce: true, Tty: true,
		Labels: map[string]string{"io.kubernetes.pod.uid": "uid-1", "io.kubernetes.pod.name": "web",
			"io.kubernetes.pod.namespace": "shop", "io.kubernetes.container.name": "app"},
		Annotations: map[string]string{"io.kubernetes.container.restartCount": "2",
			"io.kubernetes.container.terminationMessagePath":   "/dev/termination-log",
			"io.kubernetes.container.terminationMessagePolicy": "File",
			"io.kubernetes.pod.terminationGracePeriod":         "30"},
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources: &runtimeapi.LinuxContainerResources{CpuShares: 512, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 64 << 20},
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{
				Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}},
		},
	}
	if !proto.Equal(got, want) {
		t.Fatalf("container config\n got %v\nwant %v", got, want)
	}
}

func TestContainerSecurity(t *testing.T) {
	cases := []struct {
		name    string
		pod     *corev1.PodSecurityContext
		c       *corev1.SecurityContext
		host    bool
		want    *runtimeapi.LinuxContainerSecurityContext
		wantErr string
	}{
		{name: "pod's user and groups", pod: &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(1001)), FSGroup: ptr(int64(5))},
			want: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: &runtimeapi.Int64Value{Value: 1000},
				RunAsGroup: &runtimeapi.Int64Value{Value: 1001}, SupplementalGroups: []int64{5}}},
		{name: "container overrides the pod", pod: &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(1001))},
			c: &corev1.SecurityContext{RunAsUser: ptr(int64(0)), RunAsGroup: ptr(int64(0)), Privileged: ptr(true),
				ReadOnlyRootFilesystem: ptr(true), AllowPrivilegeEscalation: ptr(false),
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}}},
			want: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: &runtimeapi.Int64Value{}, RunAsGroup: &runtimeapi.Int64Value{},
				Privileged: true, ReadonlyRootfs: true, NoNewPrivs: true,
				Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"ALL"}}}},
		{name: "host namespaces match the sandbox", host: true, want: &runtimeapi.LinuxContainerSecurityContext{}},
		{name: "runAsNonRoot with user 0", pod: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)},
			c: &corev1.SecurityContext{RunAsUser: ptr(int64(0))}, wantErr: "non-root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := testPod()
			pod.Spec.SecurityContext = c.pod
			pod.Spec.HostNetwork, pod.Spec.HostPID, pod.Spec.HostIPC = c.host, c.host, c.host
			ctr := &pod.Spec.Containers[0]
			ctr.SecurityContext = c.c
			got, err := ContainerConfig(pod, ctr, 0, nil, nil)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.want.NamespaceOptions = namespaces(pod)
			if !proto.Equal(got.Linux.SecurityContext, c.want) {
				t.Fatalf("security context\n got %v\nwant %v", got.Linux.SecurityContext, c.want)
			}
			if want := map[bool]runtimeapi.NamespaceMode{true: runtimeapi.NamespaceMode_NODE, false: runtimeapi.NamespaceMode_POD}[c.host]; got.Linux.SecurityContext.NamespaceOptions.Network != want {
				t.Fatalf("network namespace %v, want %v", got.Linux.SecurityContext.NamespaceOptions.Network, want)
			}
		})
	}
}

func TestParseResolvConf(t *testing.T) {
	in := "# comment\nnameserver 192.0.2.1\nnameserver 192.0.2.2\ndomain old\nsearch a.example b.example\noptions ndots:2 edns0\noptions ndots:3\n"
	got, err := ParseResolvConf(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &runtimeapi.DNSConfig{Servers: []string{"192.0.2.1", "192.0.2.2"}, Searches: []string{"a.example", "b.example"}, Options: []string{"ndots:3", "edns0"}}
	if !proto.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestRegistryHost(t *testing.T) {
	for image, want := range map[string]string{
		"busybox":                                 "docker.io",
		"library/busybox:1":                       "docker.io",
		"docker.io/library/busybox":               "docker.io",
		"Registry.Example.com:5000/app@sha256:ab": "registry.example.com:5000",
		"localhost/app":                           "localhost",
		"tether.local/busybox:test":               "tether.local",
	} {
		if got := registryHost(image); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", image, got, want)
		}
	}
	for key, want := range map[string]string{
		"https://index.docker.io/v1/": "docker.io", "registry.example.com": "registry.example.com",
		"http://Registry.Example.com:5000/v2/": "registry.example.com:5000",
	} {
		if got := normalizeRegistry(key); got != want {
			t.Errorf("normalizeRegistry(%q) = %q, want %q", key, got, want)
		}
	}
}
