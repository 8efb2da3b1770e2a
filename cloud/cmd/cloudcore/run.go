package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/cloud/pkg/cloudhub"
	"github.com/tether-edge/tether/cloud/pkg/cloudstream"
	"github.com/tether-edge/tether/cloud/pkg/devicecontroller"
	"github.com/tether-edge/tether/cloud/pkg/edgecontroller"
	"github.com/tether-edge/tether/cloud/pkg/joinserver"
	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/daemon"
)

// servingValidity is the lifetime of the serving certificate cloudcore
// issues itself at each start.
const servingValidity = 365 * 24 * time.Hour

// run builds cloudcore's modules from cfg and runs them until ctx ends.
func run(ctx context.Context, cfg *config.CloudCore) error {
	log := cfg.Logging.NewLogger(os.Stderr)
	return daemon.Process{
		Name:   "cloudcore",
		Logger: log,
		Bus:    cfg.Bus,
		Health: cfg.Health,
		Modules: func(bus *beehive.Bus, metrics prometheus.Registerer) ([]daemon.Entry, error) {
			return modules(ctx, cfg, bus, metrics, log)
		},
	}.Run(ctx)
}

// modules is cloudcore's composition root.
func modules(ctx context.Context, cfg *config.CloudCore, bus *beehive.Bus, metrics prometheus.Registerer, log *slog.Logger) ([]daemon.Entry, error) {
	kube, dyn, err := kubeClients(cfg.KubeAPI)
	if err != nil {
		return nil, err
	}
	hubCfg := cfg.CloudHub
	ca, err := loadCA(ctx, hubCfg, kube, log)
	if err != nil {
		return nil, err
	}
	serving, err := ca.IssueServer(hubCfg.AdvertiseAddresses, servingValidity, time.Now())
	if err != nil {
		return nil, fmt.Errorf("issue the serving certificate: %w", err)
	}
	entries, gate, err := controllers(cfg, bus, kube, dyn, metrics, log)
	if err != nil {
		return nil, err
	}
	hub, err := cloudhub.New(cloudhub.Options{
		Bus:              bus,
		Ready:            gate.Ready(),
		ServerCert:       serving,
		ClientCAs:        ca.Pool(),
		WebSocketAddress: enabled(hubCfg.WebSocket),
		QUICAddress:      enabled(hubCfg.QUIC),
		NodeLimit:        hubCfg.NodeLimit,
		KeepalivePeriod:  hubCfg.KeepalivePeriod.Duration,
		SyncWindow:       hubCfg.SyncWindow,
		RequestTimeout:   hubCfg.RequestTimeout.Duration,
		Logger:           log,
		Metrics:          cloudhub.NewMetrics(metrics),
	})
	if err != nil {
		return nil, err
	}
	entries = append([]daemon.Entry{{Module: hub, Policy: restart}}, entries...)
	if cfg.CloudStream.Enable {
		stream, err := streamModule(cfg, kube, ca, serving, metrics, log)
		if err != nil {
			return nil, err
		}
		entries = append(entries, daemon.Entry{Module: stream, Policy: restart})
	}
	if hubCfg.HTTPS.Enable {
		join, err := joinServer(hubCfg, kube, ca, serving, metrics, log)
		if err != nil {
			return nil, err
		}
		entries = append(entries, daemon.Entry{Module: join, Policy: restart})
	}
	return entries, nil
}

// restart is every cloudcore module's policy.
var restart = beehive.Policy{OnError: beehive.Restart}

// controllers builds EdgeController, DeviceController (when enabled) and
// the gate that holds CloudHub's admission until both have synced; each
// controller's upstream denials are counted in metrics.
func controllers(cfg *config.CloudCore, bus *beehive.Bus, kube kubernetes.Interface, dyn dynamic.Interface, metrics prometheus.Registerer, log *slog.Logger) ([]daemon.Entry, *syncGate, error) {
	ctrlOpts := edgecontroller.Options{
		Bus:    bus,
		Client: kube,
		Logger: log,
		Hub:    cloudhub.Name,
	}
	if cfg.CloudStream.Enable {
		ip, port := cfg.KubeletEndpoint()
		ctrlOpts.KubeletEndpoint = edgecontroller.KubeletEndpoint{Address: ip, Port: int32(port)}
	}
	ctrl, err := edgecontroller.New(ctrlOpts)
	if err != nil {
		return nil, nil, err
	}
	metrics.MustRegister(upstreamDenials(edgecontroller.Name, ctrl.Denials))
	entries := []daemon.Entry{{Module: ctrl, Policy: restart}}
	if !cfg.DeviceController.Enable {
		gate := newSyncGate(log, nil, nil, ctrl.Synced())
		return append(entries, daemon.Entry{Module: gate, Policy: restart}), gate, nil
	}
	devices := client.New(dyn)
	dc, err := devicecontroller.New(devicecontroller.Options{
		Bus:    bus,
		Client: devices,
		Logger: log,
		Hub:    cloudhub.Name,
	})
	if err != nil {
		return nil, nil, err
	}
	metrics.MustRegister(upstreamDenials(devicecontroller.Name, dc.Denials))
	gate := newSyncGate(log, dc.Synced(), devicesProbe(devices), ctrl.Synced())
	entries = append(entries, daemon.Entry{Module: dc, Policy: restart}, daemon.Entry{Module: gate, Policy: restart})
	return entries, gate, nil
}

// upstreamDenials exposes a controller's count of refused upstream
// messages as tether_upstream_denials_total{controller}.
func upstreamDenials(controller string, count func() uint64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "tether_upstream_denials_total",
		Help:        "Messages from edge nodes refused because the sending node may not report on or ask for what they name (another node's pod, lease, device, or a secret no pod of it uses).",
		ConstLabels: prometheus.Labels{"controller": controller},
	}, func() float64 { return float64(count()) })
}

// devicesProbe lists one DeviceModel and one Device: NotFound means their
// CRDs are not installed.
func devicesProbe(c *client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := c.DeviceModels("").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return fmt.Errorf("list DeviceModels: %w", err)
		}
		if _, err := c.Devices("").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return fmt.Errorf("list Devices: %w", err)
		}
		return nil
	}
}

// streamModule builds CloudStream: the stream server kube-apiserver
// reaches as every edge node's kubelet, and the stream tunnel edges dial.
// Every request is authorized with a SubjectAccessReview (nodes/proxy), as
// a kubelet does: the kubelet client CA often signs users' certificates too.
func streamModule(cfg *config.CloudCore, kube kubernetes.Interface, ca *certs.CA, serving tls.Certificate, metrics prometheus.Registerer, log *slog.Logger) (*cloudstream.Module, error) {
	s := cfg.CloudStream
	return cloudstream.New(cloudstream.Options{
		StreamAddress: s.StreamAddress,
		TunnelAddress: s.TunnelAddress,
		ServerCert:    serving,
		NodeCAs:       ca.Pool(),
		KubeletClientCAs: func(ctx context.Context) (*x509.CertPool, error) {
			return cloudstream.LoadKubeletClientCAs(ctx, kube, s.KubeletClientCAFile)
		},
		Pods:            cloudstream.PodsFromClient(kube),
		Authorizer:      cloudstream.AuthorizerFromClient(kube),
		KeepalivePeriod: cfg.CloudHub.KeepalivePeriod.Duration,
		Logger:          log,
		Metrics:         cloudstream.NewMetrics(metrics),
	})
}

// joinServer builds the join server; its token store counts refused join
// tokens in metrics.
func joinServer(hubCfg config.CloudHub, kube kubernetes.Interface, ca *certs.CA, serving tls.Certificate, metrics prometheus.Registerer, log *slog.Logger) (*joinserver.Server, error) {
	tokens, err := pki.NewTokens(pki.TokenOptions{Client: kube, Namespace: hubCfg.Namespace, CAHash: ca.Hash(), Metrics: pki.NewMetrics(metrics)})
	if err != nil {
		return nil, err
	}
	return joinserver.New(joinserver.Options{
		Address:          hubCfg.HTTPS.Address,
		CA:               ca,
		ServerCert:       serving,
		Tokens:           tokens,
		NodeCertValidity: hubCfg.NodeCertificateValidity.Duration,
		Logger:           log,
	})
}

func enabled(l config.Listener) string {
	if !l.Enable {
		return ""
	}
	return l.Address
}

// restConfig is how cloudcore reaches the apiserver named by the
// kubeconfig, or the cluster it runs in.
func restConfig(k config.KubeAPI) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if k.Kubeconfig == "" {
		rc, err = rest.InClusterConfig()
	} else {
		rc, err = clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("kube client config (kubeAPI.kubeconfig %q): %w", k.Kubeconfig, err)
	}
	rc.QPS, rc.Burst, rc.UserAgent = k.QPS, k.Burst, "cloudcore"
	return rc, nil
}

// kubeClient is a clientset for the core resources.
func kubeClient(k config.KubeAPI) (kubernetes.Interface, error) {
	rc, err := restConfig(k)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// kubeClients are a clientset for the core resources and a dynamic client
// (for Devices and DeviceModels) over one rest.Config and one HTTP client,
// so they share connections; each has its own kubeAPI.qps/burst limiter.
func kubeClients(k config.KubeAPI) (kubernetes.Interface, dynamic.Interface, error) {
	rc, err := restConfig(k)
	if err != nil {
		return nil, nil, err
	}
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("kube HTTP client: %w", err)
	}
	kube, err := kubernetes.NewForConfigAndClient(rc, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("kube clientset: %w", err)
	}
	dyn, err := dynamic.NewForConfigAndClient(rc, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("kube dynamic client: %w", err)
	}
	return kube, dyn, nil
}

// loadCA reads the CA from files, or from the shared Secret, which is
// created (with its namespace, when cloudcore may) the first time.
func loadCA(ctx context.Context, h config.CloudHub, kube kubernetes.Interface, log *slog.Logger) (*certs.CA, error) {
	if h.CA.CertFile != "" {
		return pki.LoadCAFiles(h.CA.CertFile, h.CA.KeyFile)
	}
	ensureNamespace(ctx, kube, h.Namespace, log)
	return pki.EnsureCASecret(ctx, kube, h.Namespace, h.CA.SecretName, time.Now())
}

// ensureNamespace creates cloudcore's namespace if it is missing and
// cloudcore is allowed to; a deployment normally brings it.
func ensureNamespace(ctx context.Context, kube kubernetes.Interface, ns string, log *slog.Logger) {
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	switch {
	case err == nil:
		log.Info("created namespace", "namespace", ns)
	case apierrors.IsAlreadyExists(err), apierrors.IsForbidden(err):
	default:
		log.Warn("could not create namespace", "namespace", ns, "err", err)
	}
}
