package pki

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/tether-edge/tether/common/certs"
)

// CA defaults for a CA that EnsureCASecret creates.
const (
	CACommonName = "tether-ca"
	CAValidity   = 10 * 365 * 24 * time.Hour
)

// LoadCAFiles reads a CA from PEM files: its certificate and its private
// key.
func LoadCAFiles(certFile, keyFile string) (*certs.CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("load CA: read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("load CA: read key: %w", err)
	}
	ca, err := certs.ParseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA from %s and %s: %w", certFile, keyFile, err)
	}
	return ca, nil
}

// EnsureCASecret returns the CA in Secret namespace/name (keys tls.crt and
// tls.key, type kubernetes.io/tls), creating a new CA there (CACommonName,
// valid CAValidity from now) when the Secret does not exist. When replicas
// race, the loser of Create (AlreadyExists) reads the winner's Secret. A
// Secret that exists but does not hold a valid CA, or holds one that has
// expired by now, is an error naming the Secret and the problem; it is never
// overwritten.
func EnsureCASecret(ctx context.Context, client kubernetes.Interface, namespace, name string, now time.Time) (*certs.CA, error) {
	secrets := client.CoreV1().Secrets(namespace)
	ca, err := getOrCreateCA(ctx, secrets, namespace, name, now)
	if err != nil {
		return nil, err
	}
	if !now.Before(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("CA in secret %s/%s expired at %s: replace it (every node must then join again)",
			namespace, name, ca.Cert.NotAfter.Format(time.RFC3339))
	}
	return ca, nil
}

// getOrCreateCA reads the CA Secret, creating it when it does not exist.
func getOrCreateCA(ctx context.Context, secrets corev1client.SecretInterface, namespace, name string, now time.Time) (*certs.CA, error) {
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return caFromSecret(s)
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get CA secret %s/%s: %w", namespace, name, err)
	}
	ca, err := certs.NewCA(CACommonName, CAValidity, now)
	if err != nil {
		return nil, fmt.Errorf("create CA for secret %s/%s: %w", namespace, name, err)
	}
	s, err = caSecret(namespace, name, ca)
	if err != nil {
		return nil, err
	}
	created, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	switch {
	case err == nil:
		return caFromSecret(created)
	case apierrors.IsAlreadyExists(err):
		// Another replica won the race: use its CA.
		s, err = secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get CA secret %s/%s after losing the create race: %w", namespace, name, err)
		}
		return caFromSecret(s)
	default:
		return nil, fmt.Errorf("create CA secret %s/%s: %w", namespace, name, err)
	}
}

// caSecret builds the Secret that stores ca.
func caSecret(namespace, name string, ca *certs.CA) (*corev1.Secret, error) {
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return nil, fmt.Errorf("CA secret %s/%s: %w", namespace, name, err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       ca.CertPEM,
			corev1.TLSPrivateKeyKey: keyPEM,
		},
	}, nil
}

// caFromSecret parses the CA a Secret holds.
func caFromSecret(s *corev1.Secret) (*certs.CA, error) {
	for _, k := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
		if len(s.Data[k]) == 0 {
			return nil, fmt.Errorf("CA secret %s/%s has no %s (refusing to replace it: fix or delete it)", s.Namespace, s.Name, k)
		}
	}
	ca, err := certs.ParseCA(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, fmt.Errorf("CA secret %s/%s does not hold a valid CA (refusing to replace it: fix or delete it): %w", s.Namespace, s.Name, err)
	}
	return ca, nil
}
