package cloudstream_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tether-edge/tether/cloud/pkg/cloudstream"
)

func TestPodsFromClient(t *testing.T) {
	kube := fake.NewClientset(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bound"}, Spec: corev1.PodSpec{NodeName: "edge-1"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending"}},
	)
	pods := cloudstream.PodsFromClient(kube)
	ctx := context.Background()
	if node, err := pods.NodeOf(ctx, "default", "bound"); err != nil || node != "edge-1" {
		t.Errorf("bound pod: %q, %v; want edge-1", node, err)
	}
	for _, name := range []string{"pending", "missing"} {
		if node, err := pods.NodeOf(ctx, "default", name); !errors.Is(err, cloudstream.ErrPodNotFound) {
			t.Errorf("%s pod: %q, %v; want ErrPodNotFound", name, node, err)
		}
	}
	if _, err := pods.NodeOf(ctx, "other", "bound"); !errors.Is(err, cloudstream.ErrPodNotFound) {
		t.Errorf("pod in another namespace: %v; want ErrPodNotFound", err)
	}
	// Each call reads the cluster: a pod bound later is seen at once.
	if _, err := kube.CoreV1().Pods("default").Update(ctx,
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending"}, Spec: corev1.PodSpec{NodeName: "edge-2"}},
		metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if node, err := pods.NodeOf(ctx, "default", "pending"); err != nil || node != "edge-2" {
		t.Errorf("pod bound after the first lookup: %q, %v; want edge-2", node, err)
	}
	kube.PrependReactor("get", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd is down")
	})
	if _, err := pods.NodeOf(ctx, "default", "bound"); err == nil || errors.Is(err, cloudstream.ErrPodNotFound) {
		t.Errorf("apiserver failure: %v; want an error that is not ErrPodNotFound", err)
	}
}

func TestLoadKubeletClientCAs(t *testing.T) {
	p := newPKI(t)
	apiserver := p.apiserverCert(t).Leaf
	ctx := context.Background()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(bundle, append(append([]byte{}, p.tether.CertPEM...), p.kubelet.CertPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	published := func(data map[string]string) *fake.Clientset {
		return fake.NewClientset(&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "extension-apiserver-authentication"},
			Data:       data,
		})
	}
	good := published(map[string]string{"client-ca-file": string(p.kubelet.CertPEM)})

	t.Run("from the file", func(t *testing.T) {
		pool, err := cloudstream.LoadKubeletClientCAs(ctx, fake.NewClientset(), bundle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apiserver.Verify(clientVerify(pool)); err != nil {
			t.Errorf("the apiserver's certificate does not verify: %v", err)
		}
	})
	t.Run("from the ConfigMap", func(t *testing.T) {
		pool, err := cloudstream.LoadKubeletClientCAs(ctx, good, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apiserver.Verify(clientVerify(pool)); err != nil {
			t.Errorf("the apiserver's certificate does not verify: %v", err)
		}
		if _, err := p.nodeCert(t, "edge-1").Leaf.Verify(clientVerify(pool)); err == nil {
			t.Error("a node certificate verifies against the kubelet client CA")
		}
	})
	failures := []struct {
		name string
		kube *fake.Clientset
		file string
		want []string
	}{
		{"missing file", good, filepath.Join(dir, "nope.pem"), []string{"nope.pem", "cloudStream.kubeletClientCAFile"}},
		{"file without certificates", good, garbage, []string{"garbage.pem", "no PEM certificate", "cloudStream.kubeletClientCAFile"}},
		{"no ConfigMap", fake.NewClientset(), "", []string{"kube-system/extension-apiserver-authentication", "extension-apiserver-authentication-reader", "cloudStream.kubeletClientCAFile"}},
		{"no client-ca-file key", published(map[string]string{"requestheader-client-ca-file": "x"}), "", []string{"client-ca-file", "cloudStream.kubeletClientCAFile"}},
		{"garbage in the ConfigMap", published(map[string]string{"client-ca-file": "junk"}), "", []string{"extension-apiserver-authentication", "no PEM certificate"}},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			_, err := cloudstream.LoadKubeletClientCAs(ctx, f.kube, f.file)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range f.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// clientVerify checks a client certificate against pool.
func clientVerify(pool *x509.CertPool) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
}
