package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/tests/testenv"
)

// What deploy/cloudcore names; the tests check the manifests against them.
const (
	deployNamespace = "tether-system"
	deploySA        = "cloudcore"
	deployConfigMap = "cloudcore-config" // generated with a hash suffix
	deployConfigKey = "cloudcore.yaml"
	deployStreamSvc = "cloudcore-stream"
)

// deployPath is a path under deploy/ in this repository.
func deployPath(t *testing.T, parts ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"..", "..", "deploy"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The CRDs in deploy/cloudcore/crds are build/crds, byte for byte: the
// same files, none missing, none extra.
func TestDeployCRDCopies(t *testing.T) {
	t.Parallel()
	src := filepath.Join("..", "..", "build", "crds")
	dst := deployPath(t, "cloudcore", "crds")
	want, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil || len(want) == 0 {
		t.Fatalf("no CRDs in %s: %v", src, err)
	}
	for _, f := range want {
		name := filepath.Base(f)
		a, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil {
			t.Errorf("deploy/cloudcore/crds/%s: %v (cp build/crds/%s deploy/cloudcore/crds/)", name, err, name)
			continue
		}
		if !bytes.Equal(a, b) {
			t.Errorf("deploy/cloudcore/crds/%s differs from build/crds/%s: cp build/crds/%s deploy/cloudcore/crds/", name, name, name)
		}
	}
	have, _ := filepath.Glob(filepath.Join(dst, "*.yaml"))
	for _, f := range have {
		if _, err := os.Stat(filepath.Join(src, filepath.Base(f))); err != nil {
			t.Errorf("deploy/cloudcore/crds/%s is not in build/crds: remove it", filepath.Base(f))
		}
	}
}

// The rendered kustomization holds what a cluster needs and agrees with
// itself: the ConfigMap's config loads with the strict loader, and its
// listeners, the Deployment's ports and probes and the Services' ports
// match; the stream Service's clusterIP is cloudStream.nodeAddress; the
// pod is locked down; no RBAC rule uses "*"; every build/crds CRD is
// there; and deploy/edgecore/edgecore.yaml loads and dials those ports.
func TestDeployRendered(t *testing.T) {
	t.Parallel()
	kubectl := filepath.Join(testenv.DefaultPaths().KubeBin, "kubectl")
	out, err := exec.Command(kubectl, "kustomize", deployPath(t, "cloudcore")).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/cloudcore (kubectl from build/test-deps.sh): %v: %s", err, stderrOf(err))
	}
	objs := deployDocs(t, out)
	cfg := deployCheckConfigMap(t, objs)
	deployCheckPod(t, objs, cfg)
	deployCheckServices(t, objs, cfg)
	deployCheckRBAC(t, objs)
	deployCheckCRDs(t, objs)

	edge, err := config.LoadEdgeCore(deployPath(t, "edgecore", "edgecore.yaml"))
	if err != nil {
		t.Fatalf("deploy/edgecore/edgecore.yaml: %v", err)
	}
	if !slices.Contains(cfg.CloudHub.AdvertiseAddresses, edge.EdgeHub.Server) {
		t.Errorf("edgecore.yaml edgeHub.server %q is not in cloudcore.yaml cloudHub.advertiseAddresses %v",
			edge.EdgeHub.Server, cfg.CloudHub.AdvertiseAddresses)
	}
	svc := deployObject[corev1.Service](t, objs, "Service", "cloudcore")
	edgePorts := map[string]int{"websocket": edge.EdgeHub.Ports.WebSocket, "quic": edge.EdgeHub.Ports.QUIC,
		"https": edge.EdgeHub.Ports.HTTPS, "stream-tunnel": edge.EdgeHub.Ports.Stream}
	for name, port := range edgePorts {
		i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == name })
		if i < 0 || int(svc.Spec.Ports[i].Port) != port {
			t.Errorf("edgecore dials %s on %d; Service cloudcore does not serve it there: %v", name, port, svc.Spec.Ports)
		}
	}
}

// deployCheckConfigMap loads the generated ConfigMap's cloudcore.yaml with
// the strict loader and returns it.
func deployCheckConfigMap(t *testing.T, objs []*unstructured.Unstructured) *config.CloudCore {
	t.Helper()
	var cms []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && strings.HasPrefix(o.GetName(), deployConfigMap+"-") {
			cms = append(cms, o)
		}
	}
	if len(cms) != 1 {
		t.Fatalf("want one ConfigMap %s-<hash>, got %d", deployConfigMap, len(cms))
	}
	cm := deployConvert[corev1.ConfigMap](t, cms[0])
	path := filepath.Join(t.TempDir(), deployConfigKey)
	if err := os.WriteFile(path, []byte(cm.Data[deployConfigKey]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadCloudCore(path)
	if err != nil {
		t.Fatalf("ConfigMap %s key %s: %v", cm.Name, deployConfigKey, err)
	}
	if cfg.CloudHub.Namespace != deployNamespace || cfg.KubeAPI.Kubeconfig != "" {
		t.Errorf("config: cloudHub.namespace %q, kubeAPI.kubeconfig %q; want %q and in-cluster",
			cfg.CloudHub.Namespace, cfg.KubeAPI.Kubeconfig, deployNamespace)
	}
	return cfg
}

// deployCheckPod checks the Deployment against the config: its mount and
// --config, one container port per listener, probes on the health port
// (which must not be loopback), resources and a locked-down pod.
func deployCheckPod(t *testing.T, objs []*unstructured.Unstructured, cfg *config.CloudCore) {
	t.Helper()
	d := deployObject[appsv1.Deployment](t, objs, "Deployment", "cloudcore")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment: want 1 replica, strategy Recreate; got %v, %s", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != deploySA || len(pod.Containers) != 1 || len(pod.Volumes) != 1 {
		t.Fatalf("Deployment: want service account %s, one container, one volume; got %s, %d, %d",
			deploySA, pod.ServiceAccountName, len(pod.Containers), len(pod.Volumes))
	}
	c := pod.Containers[0]
	vol := pod.Volumes[0]
	if vol.ConfigMap == nil || !strings.HasPrefix(vol.ConfigMap.Name, deployConfigMap+"-") ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != vol.Name ||
		!slices.Equal(c.Args, []string{"--config", c.VolumeMounts[0].MountPath + "/" + deployConfigKey}) {
		t.Errorf("Deployment does not run --config on the generated ConfigMap: args %v, volume %+v, mounts %+v", c.Args, vol, c.VolumeMounts)
	}
	want := map[string]string{
		"websocket": cfg.CloudHub.WebSocket.Address, "quic": cfg.CloudHub.QUIC.Address, "https": cfg.CloudHub.HTTPS.Address,
		"stream": cfg.CloudStream.StreamAddress, "stream-tunnel": cfg.CloudStream.TunnelAddress, "health": cfg.Health.Address,
	}
	for name, addr := range want {
		host, port := deploySplit(t, addr)
		i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
		if i < 0 || c.Ports[i].ContainerPort != int32(port) {
			t.Errorf("container port %s: config listens on %q; ports %v", name, addr, c.Ports)
		}
		if host != "" && host != "0.0.0.0" && host != "::" {
			t.Errorf("config listens for %s on %q: not reachable on the pod IP", name, addr)
		}
	}
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port.String() != "health" {
			t.Errorf("want a probe GET %s on port health; got %+v", path, probe)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("container resources: want cpu and memory requests and a memory limit; got %+v", c.Resources)
	}
	sc, psc := c.SecurityContext, pod.SecurityContext
	if sc == nil || psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("pod must run as non-root, read-only root, no privilege escalation: %+v %+v", psc, sc)
	}
}

// deployCheckServices checks that every Service port leads to a container
// port of its protocol, that together they expose every listener, and that
// the stream Service is where cloudcore tells kube-apiserver to go.
func deployCheckServices(t *testing.T, objs []*unstructured.Unstructured, cfg *config.CloudCore) {
	t.Helper()
	d := deployObject[appsv1.Deployment](t, objs, "Deployment", "cloudcore")
	ports := d.Spec.Template.Spec.Containers[0].Ports
	exposed := map[string]bool{}
	for _, name := range []string{"cloudcore", deployStreamSvc} {
		svc := deployObject[corev1.Service](t, objs, "Service", name)
		for _, p := range svc.Spec.Ports {
			i := slices.IndexFunc(ports, func(c corev1.ContainerPort) bool { return c.Name == p.TargetPort.String() })
			if i < 0 || ports[i].Protocol != p.Protocol {
				t.Errorf("Service %s port %s: target %s is no %s container port", name, p.Name, p.TargetPort.String(), p.Protocol)
				continue
			}
			exposed[p.Name] = true
		}
	}
	for _, name := range []string{"websocket", "quic", "https", "stream", "stream-tunnel"} {
		if !exposed[name] {
			t.Errorf("no Service exposes %s", name)
		}
	}
	ip, port := cfg.KubeletEndpoint()
	stream := deployObject[corev1.Service](t, objs, "Service", deployStreamSvc)
	if stream.Spec.ClusterIP != ip || len(stream.Spec.Ports) != 1 || int(stream.Spec.Ports[0].Port) != port {
		t.Errorf("Service %s is %s %v; cloudcore writes %s:%d on edge Nodes (cloudStream.nodeAddress)",
			deployStreamSvc, stream.Spec.ClusterIP, stream.Spec.Ports, ip, port)
	}
}

// deployCheckRBAC refuses "*" in any rule and checks the bindings name
// the Deployment's service account.
func deployCheckRBAC(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			for i, r := range deployConvert[rbacv1.ClusterRole](t, o).Rules {
				for _, s := range slices.Concat(r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs) {
					if strings.Contains(s, "*") {
						t.Errorf("%s %s/%s rule %d uses %q: name each verb and resource", o.GetKind(), o.GetNamespace(), o.GetName(), i, s)
					}
				}
			}
		case "ClusterRoleBinding", "RoleBinding":
			b := deployConvert[rbacv1.RoleBinding](t, o)
			want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: deploySA, Namespace: deployNamespace}}
			if !slices.Equal(b.Subjects, want) {
				t.Errorf("%s %s/%s binds %v; want %v", o.GetKind(), o.GetNamespace(), o.GetName(), b.Subjects, want)
			}
		}
	}
}

// deployCheckCRDs checks that the rendered CRDs are those of build/crds.
func deployCheckCRDs(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var want, got []string
	for _, f := range testenv.DeviceCRDs() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range deployDocs(t, b) {
			want = append(want, o.GetName())
		}
	}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			got = append(got, o.GetName())
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization CRDs %v; build/crds has %v", got, want)
	}
}

// TestDeployApply applies deploy/cloudcore to a real kube-apiserver and
// runs cloudcore with its service account: a server-side dry run of the
// cluster-scoped objects, a real server-side apply (no Pod Security
// warning), a clean re-apply; the service account may do what cloudcore's
// code does and not what it must not; and cloudcore, holding only that
// account's token, becomes ready, creates join tokens, and brings an edge
// node to Ready with its Lease, never refused ("forbidden") on the way.
// (No kubelet runs the Deployment's pod.)
func TestDeployApply(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	built := make(chan error, 1)
	go func() { built <- testenv.BuildBinaries(bin, testenv.CloudcorePackage, testenv.EdgecorePackage) }()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := deployPath(t, "cloudcore")

	rendered, err := kube.KubectlOutput(ctx, "", "kustomize", dir)
	if err != nil {
		t.Fatal(err)
	}
	var cluster []string
	for _, o := range deployDocs(t, []byte(rendered)) {
		if o.GetNamespace() == "" {
			b, err := yaml.Marshal(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			cluster = append(cluster, string(b))
		}
	}
	if _, err := kube.KubectlOutput(ctx, strings.Join(cluster, "---\n"), "apply", "--server-side", "--dry-run=server", "-f", "-"); err != nil {
		t.Fatalf("dry run of the cluster-scoped objects: %v", err)
	}
	deployApply(ctx, t, kube, "apply", "--server-side", "-k", dir)
	deployApply(ctx, t, kube, "apply", "--server-side", "--dry-run=server", "-k", dir)

	cs := kube.Clientset(t)
	deployCheckAccess(ctx, t, cs)

	kubeconfig := deployServiceAccountKubeconfig(ctx, t, kube, cs)
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	cloud := testenv.StartCloudcore(t, testenv.CloudcoreOptions{Bin: bin, Kube: kube, Kubeconfig: kubeconfig})
	token := deployTokenCommands(t, bin, cloud.ConfigPath)
	const node = "edge-deploy"
	edge := testenv.StartEdgecore(t, testenv.EdgecoreOptions{Bin: bin, Cloud: cloud, NodeName: node, Token: token})
	testenv.WaitLog(t, edge.Process, time.Minute, "in sync with the cloud")
	testenv.WaitFor(t, time.Minute, "node "+node+" Ready with its Lease", func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !testenv.NodeReady(n) {
			return fmt.Errorf("not Ready: %v", n.Status.Conditions)
		}
		l, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != node {
			return fmt.Errorf("lease holder %v", l.Spec.HolderIdentity)
		}
		return nil
	})
	for _, p := range []*testenv.Process{cloud.Process, edge.Process} {
		b, err := os.ReadFile(p.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if strings.Contains(strings.ToLower(line), "forbidden") {
				t.Errorf("%s was refused something: %s", p.LogPath, line)
			}
		}
	}
}

// deployApply runs kubectl and fails on an error or a Pod Security warning
// (the namespace enforces "restricted").
func deployApply(ctx context.Context, t *testing.T, kube *testenv.Kube, args ...string) {
	t.Helper()
	cmd := kube.Kubectl(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	if strings.Contains(stderr.String(), "PodSecurity") {
		t.Errorf("kubectl %s warned: %s", strings.Join(args, " "), stderr.String())
	}
}

// deployAccess is a request of cloudcore's service account; verbs is a
// comma-separated list.
type deployAccess struct {
	verbs, group, resource, sub, ns string
}

// deployMay is what cloudcore's code does (deploy/README.md explains each).
var deployMay = []deployAccess{
	{"get,list,watch,create,update", "", "nodes", "", ""},
	{"patch", "", "nodes", "status", ""},
	{"get,list,watch,create,delete", "", "pods", "", "default"},
	{"patch", "", "pods", "status", "default"},
	{"get,list,watch", "", "configmaps", "", "default"},
	{"get,list,watch", "", "secrets", "", "default"},
	// Edge pods may use Secrets in any namespace, kube-system's too.
	{"get", "", "secrets", "", "kube-system"},
	{"get", "", "configmaps", "", "kube-system"},
	{"create", "", "serviceaccounts", "token", "default"},
	{"get,create,update", "", "events", "", "default"},
	{"create", "authorization.k8s.io", "subjectaccessreviews", "", ""},
	{"get,list,watch", "devices.kubeedge.io", "devices", "", "default"},
	{"list,watch", "devices.kubeedge.io", "devicemodels", "", "default"},
	{"update", "devices.kubeedge.io", "devices", "status", "default"},
	{"get,list,create,delete", "", "secrets", "", deployNamespace},
	{"get,create,update", "coordination.k8s.io", "leases", "", corev1.NamespaceNodeLease},
}

// deployMayNot is what it must not do.
var deployMayNot = []deployAccess{
	{"delete,patch", "", "nodes", "", ""},
	{"get,create", "", "nodes", "proxy", ""}, // exec into any node's pods
	{"update,patch", "", "pods", "", "default"},
	{"create", "", "pods", "exec", "default"},
	{"create,update,delete", "", "secrets", "", "kube-system"},
	{"update", "", "secrets", "", deployNamespace},
	{"create,update,delete", "", "configmaps", "", "default"},
	{"create,delete", "", "namespaces", "", ""},
	{"create,update", "coordination.k8s.io", "leases", "", "default"},
	{"create", "apps", "deployments", "", "default"},
	{"create,escalate,bind", "rbac.authorization.k8s.io", "clusterroles", "", ""},
	{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", ""},
	{"create", "authentication.k8s.io", "tokenreviews", "", ""},
	{"impersonate", "", "users", "", ""},
	{"create,update,delete", "devices.kubeedge.io", "devices", "", "default"},
	{"create,delete", "devices.kubeedge.io", "devicemodels", "", "default"},
	{"create,update", "apiextensions.k8s.io", "customresourcedefinitions", "", ""},
}

// deployCheckAccess asks the apiserver, with SubjectAccessReviews, whether
// cloudcore's service account may do each request of deployMay and
// deployMayNot.
func deployCheckAccess(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	user := "system:serviceaccount:" + deployNamespace + ":" + deploySA
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + deployNamespace, "system:authenticated"}
	check := func(a deployAccess, want bool) {
		for verb := range strings.SplitSeq(a.verbs, ",") {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: verb, Group: a.group, Resource: a.resource, Subresource: a.sub, Namespace: a.ns,
				},
			}}
			res, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("subject access review: %v", err)
			}
			if res.Status.Allowed != want {
				t.Errorf("cloudcore may %s %s.%s/%s in %q: %v, want %v", verb, a.resource, a.group, a.sub, a.ns, res.Status.Allowed, want)
			}
		}
	}
	for _, a := range deployMay {
		check(a, true)
	}
	for _, a := range deployMayNot {
		check(a, false)
	}
}

// deployServiceAccountKubeconfig writes a kubeconfig holding a token of
// cloudcore's service account, as its pod would have.
func deployServiceAccountKubeconfig(ctx context.Context, t *testing.T, kube *testenv.Kube, cs kubernetes.Interface) string {
	t.Helper()
	tr, err := cs.CoreV1().ServiceAccounts(deployNamespace).CreateToken(ctx, deploySA,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", deployNamespace, deploySA, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: kube.Host, CertificateAuthority: kube.CA.CertFile}
	cfg.AuthInfos["cloudcore"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "cloudcore"}
	cfg.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "cloudcore.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// deployTokenCommands runs `cloudcore token create|list|revoke` as the
// service account (cfg names its kubeconfig) and returns a token to join
// with.
func deployTokenCommands(t *testing.T, bin, cfg string) string {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(bin, "cloudcore"), append([]string{"token", "--config", cfg}, args...)...).Output()
		if err != nil {
			t.Fatalf("cloudcore token %v with the service account: %v: %s", args, err, stderrOf(err))
		}
		return strings.TrimSpace(string(out))
	}
	keep := run("create", "--ttl", "1h")
	drop := run("create", "--ttl", "1h")
	dropID, _, _ := strings.Cut(drop, ".")
	if list := run("list"); !strings.Contains(list, dropID) {
		t.Fatalf("token list does not show %s:\n%s", dropID, list)
	}
	run("revoke", dropID)
	return keep
}

// deployDocs decodes every YAML document of b.
func deployDocs(t *testing.T, b []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode YAML: %v", err)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// deployObject is the one object of kind and name, as a T.
func deployObject[T any](t *testing.T, objs []*unstructured.Unstructured, kind, name string) *T {
	t.Helper()
	i := slices.IndexFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind && o.GetName() == name })
	if i < 0 {
		t.Fatalf("no %s %s in the kustomization", kind, name)
	}
	return deployConvert[T](t, objs[i])
}

func deployConvert[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &v, true); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return &v
}

// deploySplit splits a listener's host:port.
func deploySplit(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return host, port
}

// stderrOf is the stderr an exec.ExitError kept.
func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(exit.Stderr)
	}
	return ""
}
