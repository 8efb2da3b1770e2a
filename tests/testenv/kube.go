package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Timeouts for each kube component to become ready.
const (
	etcdReadyTimeout      = 30 * time.Second
	apiserverReadyTimeout = 60 * time.Second
	componentReadyTimeout = 60 * time.Second
	// defaultNamespaceTimeout bounds the wait for the namespace the
	// apiserver creates shortly after it is ready.
	defaultNamespaceTimeout = 30 * time.Second
	serviceClusterIPRange   = "10.96.0.0/16"
	serviceAccountIssuer    = "https://kubernetes.default.svc"
	kubeComponentVerbosity  = "--v=2"
)

// KubeOptions configures StartKube. The zero value starts etcd and
// kube-apiserver only.
type KubeOptions struct {
	// Paths finds the binaries (Paths.KubeBin, Paths.SystemBin for etcd);
	// zero fields: DefaultPaths.
	Paths Paths
	// Scheduler also starts kube-scheduler.
	Scheduler bool
	// ControllerManager also starts kube-controller-manager with all default
	// controllers, the service-account key, and the CA as cluster signer.
	// Without it no "default" service account is created, so creating pods
	// needs it or "--disable-admission-plugins=ServiceAccount" in
	// APIServerArgs.
	ControllerManager bool
	// CA is the cluster's certificate authority; nil: a new one (NewCA).
	// Pass one to issue certificates that APIServerArgs refer to before
	// the apiserver starts.
	CA *CA
	// APIServerArgs, SchedulerArgs and ControllerManagerArgs are appended to
	// each component's default flags; a flag given again overrides its
	// default (the last one wins), e.g. "--node-monitor-grace-period=4s".
	APIServerArgs         []string
	SchedulerArgs         []string
	ControllerManagerArgs []string
}

// Kube is a running control plane started by StartKube.
type Kube struct {
	// Config is an admin client config (system:masters, static token),
	// with QPS 100 and Burst 200 so that tests are not throttled. Use
	// rest.CopyConfig before changing it.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file with the same admin
	// credentials, for kubectl and for components under test.
	Kubeconfig string
	// Host is the apiserver URL, https://127.0.0.1:PORT.
	Host string
	// Token is the admin bearer token.
	Token string
	// CA signs the apiserver's serving certificate and its kubelet client
	// certificate; the apiserver trusts client certificates it issues.
	CA *CA
	// KubeletClientCertFile and KubeletClientKeyFile are what the apiserver
	// presents to kubelet (edge stream) servers (--kubelet-client-*): CN
	// kube-apiserver-kubelet-client, issued by CA.
	KubeletClientCertFile, KubeletClientKeyFile string
	// ServiceAccountKeyFile is the PEM key that signs service-account tokens.
	ServiceAccountKeyFile string
	// EtcdURL is etcd's client URL, http://127.0.0.1:PORT.
	EtcdURL string
	// Dir holds the generated files (certificates, keys, kubeconfig).
	Dir string
	// KubectlPath is kubectl of the control plane's version (Paths.KubeBin).
	KubectlPath string
	// Etcd, APIServer, Scheduler and ControllerManager are the processes;
	// Scheduler and ControllerManager are nil unless requested.
	Etcd, APIServer, Scheduler, ControllerManager *Process
}

// StartKube starts etcd (Debian's, own data dir, free client and peer ports)
// and kube-apiserver (free secure port on 127.0.0.1, RBAC, static admin
// token, generated CA and service-account key), plus kube-scheduler and
// kube-controller-manager when asked, and waits until each is ready:
// etcd /health, apiserver /readyz, the others /healthz. Cleanup stops them
// in reverse order.
func StartKube(t T, opts KubeOptions) *Kube {
	t.Helper()
	paths := opts.Paths.withDefaults()
	// Check every binary before starting any.
	requireFile(t, "etcd (Debian package etcd-server)", filepath.Join(paths.SystemBin, "etcd"))
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"} {
		requireFile(t, b, filepath.Join(paths.KubeBin, b))
	}
	k := &Kube{Dir: t.TempDir(), Token: randomHex(t, 16), CA: opts.CA, KubectlPath: filepath.Join(paths.KubeBin, "kubectl")}
	k.Etcd, k.EtcdURL = startEtcd(t, paths)
	k.startAPIServer(t, paths, opts.APIServerArgs)
	// Start both before waiting for either: they get ready in parallel.
	var cmHealth, schedHealth string
	if opts.ControllerManager {
		k.ControllerManager, cmHealth = k.startComponent(t, paths, "kube-controller-manager",
			k.controllerManagerArgs(opts.ControllerManagerArgs))
	}
	if opts.Scheduler {
		k.Scheduler, schedHealth = k.startComponent(t, paths, "kube-scheduler", opts.SchedulerArgs)
	}
	if k.ControllerManager != nil {
		WaitHTTPReady(t, k.ControllerManager, cmHealth)
	}
	if k.Scheduler != nil {
		WaitHTTPReady(t, k.Scheduler, schedHealth)
	}
	return k
}

// Clientset returns a clientset with the admin credentials.
func (k *Kube) Clientset(t T) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(k.Config)
	if err != nil {
		t.Fatalf("kube clientset: %v", err)
	}
	return cs
}

// WaitDefaultNamespace waits until the apiserver has created namespace
// default, which it does shortly after it reports ready; objects created
// there before it exists are refused.
func (k *Kube) WaitDefaultNamespace(t T) {
	t.Helper()
	cs := k.Clientset(t)
	WaitFor(t, defaultNamespaceTimeout, "namespace default", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := cs.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{})
		return err
	})
}

func startEtcd(t T, paths Paths) (*Process, string) {
	t.Helper()
	bin := filepath.Join(paths.SystemBin, "etcd")
	ports := FreePorts(t, 2)
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	data := t.TempDir()
	if err := os.Chmod(data, 0o700); err != nil { // etcd warns otherwise
		t.Fatalf("chmod etcd data dir: %v", err)
	}
	proc := StartProcess(t, Command{Name: "etcd", Path: bin, Args: []string{
		"--name=default", "--data-dir=" + data,
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=default=" + peer,
		"--logger=zap", "--log-level=warn", "--unsafe-no-fsync",
	}})
	waitReady(t, proc, etcdReadyTimeout, func() error { return httpOK(&http.Client{Timeout: 2 * time.Second}, client+"/health") })
	return proc, client
}

func (k *Kube) startAPIServer(t T, paths Paths, extra []string) {
	t.Helper()
	bin := filepath.Join(paths.KubeBin, "kube-apiserver")
	if k.CA == nil {
		k.CA = NewCA(t, k.Dir)
	}
	k.KubeletClientCertFile, k.KubeletClientKeyFile = k.CA.IssueClient(t, "kube-apiserver-kubelet-client", "system:masters")
	servingCert, servingKey := k.CA.IssueServing(t, "kube-apiserver", []string{
		"127.0.0.1", "localhost", "10.96.0.1",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
	})
	k.ServiceAccountKeyFile = filepath.Join(k.Dir, "sa.key")
	writeKey(t, k.ServiceAccountKeyFile, newKey(t))
	tokens := filepath.Join(k.Dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(k.Token+",admin,admin,system:masters\n"), 0o600); err != nil {
		t.Fatalf("write token file: %v", err)
	}
	port := FreePort(t)
	k.Host = "https://127.0.0.1:" + strconv.Itoa(port)
	k.Config = &rest.Config{Host: k.Host, BearerToken: k.Token, QPS: 100, Burst: 200,
		TLSClientConfig: rest.TLSClientConfig{CAFile: k.CA.CertFile}}
	k.Kubeconfig = k.writeKubeconfig(t)
	args := []string{
		"--etcd-servers=" + k.EtcdURL, "--etcd-prefix=/registry",
		// A loopback advertise address is refused unless nothing maintains
		// the "kubernetes" service's endpoints.
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + t.TempDir(), "--tls-cert-file=" + servingCert, "--tls-private-key-file=" + servingKey,
		"--client-ca-file=" + k.CA.CertFile, "--token-auth-file=" + tokens,
		"--kubelet-client-certificate=" + k.KubeletClientCertFile, "--kubelet-client-key=" + k.KubeletClientKeyFile,
		"--service-account-key-file=" + k.ServiceAccountKeyFile,
		"--service-account-signing-key-file=" + k.ServiceAccountKeyFile,
		"--service-account-issuer=" + serviceAccountIssuer,
		"--authorization-mode=RBAC", "--service-cluster-ip-range=" + serviceClusterIPRange,
		"--allow-privileged=true", "--profiling=false", kubeComponentVerbosity,
	}
	k.APIServer = StartProcess(t, Command{Name: "kube-apiserver", Path: bin, Args: append(args, extra...)})
	cs := k.Clientset(t)
	waitReady(t, k.APIServer, apiserverReadyTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}

func (k *Kube) writeKubeconfig(t T) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["tether-test"] = &clientcmdapi.Cluster{Server: k.Host, CertificateAuthority: k.CA.CertFile}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: k.Token}
	cfg.Contexts["tether-test"] = &clientcmdapi.Context{Cluster: "tether-test", AuthInfo: "admin"}
	cfg.CurrentContext = "tether-test"
	path := filepath.Join(k.Dir, "admin.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

func (k *Kube) controllerManagerArgs(extra []string) []string {
	args := []string{
		"--service-account-private-key-file=" + k.ServiceAccountKeyFile,
		"--root-ca-file=" + k.CA.CertFile,
		"--cluster-signing-cert-file=" + k.CA.CertFile, "--cluster-signing-key-file=" + k.CA.KeyFile,
		"--service-cluster-ip-range=" + serviceClusterIPRange,
	}
	return append(args, extra...)
}

// startComponent starts kube-scheduler or kube-controller-manager with the
// admin kubeconfig, no leader election and a free secure port, and returns
// the URL of its /healthz.
func (k *Kube) startComponent(t T, paths Paths, name string, extra []string) (*Process, string) {
	t.Helper()
	bin := filepath.Join(paths.KubeBin, name)
	port := FreePort(t)
	args := []string{
		"--kubeconfig=" + k.Kubeconfig,
		"--authentication-kubeconfig=" + k.Kubeconfig, "--authorization-kubeconfig=" + k.Kubeconfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + t.TempDir(), kubeComponentVerbosity,
	}
	proc := StartProcess(t, Command{Name: name, Path: bin, Args: append(args, extra...)})
	return proc, fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
}

func randomHex(t T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}
