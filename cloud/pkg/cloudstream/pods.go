package cloudstream

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ErrPodNotFound is wrapped by Pods.NodeOf's error when the pod does not
// exist or is not bound to a node: the stream server answers 404.
var ErrPodNotFound = errors.New("pod not found")

// Pods tells which node a pod is bound to.
type Pods interface {
	// NodeOf returns the node of pod namespace/name, or an error wrapping
	// ErrPodNotFound, or another error when it cannot tell.
	NodeOf(ctx context.Context, namespace, name string) (node string, err error)
}

// ClientPods is Pods over the Kubernetes API: one GET per call, so the
// answer is always fresh. Requests are human-driven and rare, so there is
// no informer or cache.
type ClientPods struct {
	kube kubernetes.Interface
}

// PodsFromClient returns Pods that GETs each pod from kube.
func PodsFromClient(kube kubernetes.Interface) *ClientPods {
	return &ClientPods{kube: kube}
}

// NodeOf implements Pods.
func (p *ClientPods) NodeOf(ctx context.Context, namespace, name string) (string, error) {
	pod, err := p.kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("pod %s/%s: %w", namespace, name, ErrPodNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("get pod %s/%s: %w", namespace, name, err)
	}
	if pod.Spec.NodeName == "" {
		return "", fmt.Errorf("pod %s/%s is not bound to a node: %w", namespace, name, ErrPodNotFound)
	}
	return pod.Spec.NodeName, nil
}

// The ConfigMap kube-apiserver publishes its client CA in, readable with
// the role extension-apiserver-authentication-reader in kube-system.
const (
	authNamespace = "kube-system"
	authConfigMap = "extension-apiserver-authentication"
	authClientCA  = "client-ca-file"
)

// LoadKubeletClientCAs returns the CAs that sign kube-apiserver's kubelet
// client certificate: the PEM bundle in file when file is set, else the
// client CA kube-apiserver publishes (ConfigMap
// kube-system/extension-apiserver-authentication, key client-ca-file).
func LoadKubeletClientCAs(ctx context.Context, kube kubernetes.Interface, file string) (*x509.CertPool, error) {
	if file != "" {
		pemBytes, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read the kubelet client CA (cloudStream.kubeletClientCAFile): %w", err)
		}
		return poolFromPEM(pemBytes, fmt.Sprintf("file %s (cloudStream.kubeletClientCAFile)", file))
	}
	where := fmt.Sprintf("ConfigMap %s/%s key %s", authNamespace, authConfigMap, authClientCA)
	cm, err := kube.CoreV1().ConfigMaps(authNamespace).Get(ctx, authConfigMap, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the kubelet client CA from ConfigMap %s/%s "+
			"(grant cloudcore the role extension-apiserver-authentication-reader in %s, "+
			"or set cloudStream.kubeletClientCAFile): %w", authNamespace, authConfigMap, authNamespace, err)
	}
	pemText, ok := cm.Data[authClientCA]
	if !ok || pemText == "" {
		return nil, fmt.Errorf("%s is missing (does kube-apiserver run with --client-ca-file?); "+
			"set cloudStream.kubeletClientCAFile to the CA of its --kubelet-client-certificate", where)
	}
	return poolFromPEM([]byte(pemText), where)
}

// poolFromPEM parses a bundle that must hold at least one certificate.
func poolFromPEM(pemBytes []byte, where string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("the kubelet client CA in %s holds no PEM certificate; "+
			"set cloudStream.kubeletClientCAFile to the CA of kube-apiserver's --kubelet-client-certificate", where)
	}
	return pool, nil
}
