package integration

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/tests/testenv"
)

// TestPki runs cloud/pkg/pki against a real kube-apiserver: the CA Secret
// and the join token store.
func TestPki(t *testing.T) {
	t.Parallel()
	kube := testenv.StartKube(t, testenv.KubeOptions{})
	cs := kube.Clientset(t)
	t.Run("CASecretCreatedOnce", func(t *testing.T) { testCASecretCreatedOnce(t, cs) })
	t.Run("CASecretGarbageNotOverwritten", func(t *testing.T) { testCASecretGarbage(t, cs) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, cs) })
	t.Run("TokensIgnoreLookalikes", func(t *testing.T) { testTokenLookalikes(t, cs) })
}

// newNamespace creates a namespace for one subtest.
func newNamespace(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

func testCASecretCreatedOnce(t *testing.T, cs kubernetes.Interface) {
	ns := newNamespace(t, cs, "pki-ca")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Replicas starting together: every one must end up with the same CA.
	const replicas = 4
	var wg sync.WaitGroup
	hashes := make([]string, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			ca, err := pki.EnsureCASecret(ctx, cs, ns, "tether-ca", time.Now())
			if err == nil {
				hashes[i] = ca.Hash()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if hashes[i] != hashes[0] {
			t.Fatalf("replicas got different CAs: %v", hashes)
		}
	}
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, "tether-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := certs.ParseCertPEM(s.Data[corev1.TLSCertKey])
	if err != nil || certs.Hash(stored.Raw) != hashes[0] || s.Type != corev1.SecretTypeTLS {
		t.Errorf("stored Secret: type %s, certificate %v (%v), want the CA %s", s.Type, stored != nil, err, hashes[0])
	}
	again, err := pki.EnsureCASecret(ctx, cs, ns, "tether-ca", time.Now())
	if err != nil || again.Hash() != hashes[0] {
		t.Errorf("a later start got %v, %v; want the same CA", again, err)
	}
	// Eleven years on, the ten-year CA has expired: an error, not a new CA.
	if _, err := pki.EnsureCASecret(ctx, cs, ns, "tether-ca", time.Now().Add(11*365*24*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("EnsureCASecret with an expired CA = %v, want an error", err)
	}
}

func testCASecretGarbage(t *testing.T, cs kubernetes.Interface) {
	ns := newNamespace(t, cs, "pki-garbage")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	garbage := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tether-ca"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: []byte("not a certificate"), corev1.TLSPrivateKeyKey: []byte("nor a key")},
	}
	created, err := cs.CoreV1().Secrets(ns).Create(ctx, garbage, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pki.EnsureCASecret(ctx, cs, ns, "tether-ca", time.Now())
	if err == nil || !strings.Contains(err.Error(), ns+"/tether-ca") || !strings.Contains(err.Error(), "no PEM block") {
		t.Fatalf("EnsureCASecret over garbage = %v; want an error naming the Secret and the problem", err)
	}
	after, err := cs.CoreV1().Secrets(ns).Get(ctx, "tether-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != created.ResourceVersion || string(after.Data[corev1.TLSCertKey]) != "not a certificate" {
		t.Error("the garbage Secret was overwritten")
	}

	// A Secret missing its key is refused the same way.
	other := newNamespace(t, cs, "pki-nokey")
	half := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "tether-ca"}, Data: map[string][]byte{"unrelated": []byte("x")}}
	if _, err := cs.CoreV1().Secrets(other).Create(ctx, half, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.EnsureCASecret(ctx, cs, other, "tether-ca", time.Now()); err == nil || !strings.Contains(err.Error(), "has no tls.crt") {
		t.Errorf("EnsureCASecret over a Secret without tls.crt = %v", err)
	}
}

// fakeClock is a clock the test moves forward.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
func newTokens(t *testing.T, cs kubernetes.Interface, ns string, clock *fakeClock) *pki.Tokens {
	t.Helper()
	ca, err := certs.NewCA("tokens-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := pki.NewTokens(pki.TokenOptions{Client: cs, Namespace: ns, CAHash: ca.Hash(), Clock: clock.Now})
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tokens
}

func testTokens(t *testing.T, cs kubernetes.Interface) {
	ns := newNamespace(t, cs, "pki-tokens")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clock := &fakeClock{}
	tokens := newTokens(t, cs, ns, clock)

	long, longInfo, err := tokens.Create(ctx, time.Hour, "edge-1 in hall B")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	short, _, err := tokens.Create(ctx, 30*time.Minute, "")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	checkStoredToken(t, cs, ns, long.ID, long.Secret)

	// Another replica (its own store over the same namespace) validates it.
	replica := newTokens(t, cs, ns, clock)
	for _, cred := range []string{long.Credential(), long.String(), short.Credential()} {
		if err := replica.Validate(ctx, cred); err != nil {
			t.Errorf("Validate(valid token): %v", err)
		}
	}
	wrongSecret := long.ID + ".aaaaaaaaaaaaaaaa"
	unknownID := "zzzzzz." + long.Secret
	for _, cred := range []string{wrongSecret, unknownID, "garbage", ""} {
		if err := tokens.Validate(ctx, cred); !errors.Is(err, pki.ErrTokenInvalid) {
			t.Errorf("Validate(bad credential) = %v, want ErrTokenInvalid", err)
		}
	}
	// A wrong secret and an unknown id cannot be told apart.
	e1, e2 := tokens.Validate(ctx, wrongSecret), tokens.Validate(ctx, unknownID)
	if e1.Error() != e2.Error() {
		t.Errorf("wrong secret says %q, unknown id says %q", e1, e2)
	}

	list, err := tokens.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != short.ID || list[1] != longInfo {
		t.Errorf("List = %+v; want the short token then %+v", list, longInfo)
	}

	// 45 minutes later the short token has expired.
	clock.Advance(45 * time.Minute)
	if err := tokens.Validate(ctx, short.Credential()); !errors.Is(err, pki.ErrTokenExpired) {
		t.Errorf("Validate(expired) = %v, want ErrTokenExpired", err)
	}
	if err := tokens.Validate(ctx, short.ID+".aaaaaaaaaaaaaaaa"); !errors.Is(err, pki.ErrTokenInvalid) {
		t.Errorf("Validate(expired id, wrong secret) = %v, want ErrTokenInvalid", err)
	}
	list, err = tokens.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != long.ID {
		t.Errorf("List after expiry = %+v, %v; want only %s", list, err, long.ID)
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, pki.TokenSecretPrefix+short.ID, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("List left the expired token's Secret (get: %v)", err)
	}

	// Revoke.
	if err := tokens.Revoke(ctx, long.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if err := replica.Validate(ctx, long.Credential()); !errors.Is(err, pki.ErrTokenInvalid) {
		t.Errorf("Validate(revoked) = %v, want ErrTokenInvalid", err)
	}
	for _, id := range []string{long.ID, "nope00"} {
		if err := tokens.Revoke(ctx, id); !errors.Is(err, pki.ErrTokenNotFound) {
			t.Errorf("Revoke(%s) = %v, want ErrTokenNotFound", id, err)
		}
	}

	// Create cleans up expired tokens too.
	brief, _, err := tokens.Create(ctx, time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if _, _, err := tokens.Create(ctx, time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, pki.TokenSecretPrefix+brief.ID, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Create left an expired token's Secret (get: %v)", err)
	}
	if _, _, err := tokens.Create(ctx, 0, ""); err == nil {
		t.Error("Create with ttl 0 succeeded")
	}
}

// checkStoredToken checks the Secret of token id: type, label, and a hash
// of the secret but never the secret itself.
func checkStoredToken(t *testing.T, cs kubernetes.Interface, ns, id, secret string) {
	t.Helper()
	s, err := cs.CoreV1().Secrets(ns).Get(context.Background(), pki.TokenSecretPrefix+id, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get token Secret: %v", err)
	}
	if s.Type != pki.TokenSecretType || s.Labels[pki.TokenLabel] != "true" {
		t.Errorf("token Secret type %q labels %v", s.Type, s.Labels)
	}
	if len(s.Data[pki.KeySecretHash]) != 64 || len(s.Data[pki.KeyExpiration]) == 0 {
		t.Errorf("token Secret data keys: %v", s.Data)
	}
	for k, v := range s.Data {
		if strings.Contains(string(v), secret) {
			t.Errorf("token Secret's %s holds the secret", k)
		}
	}
}

// testTokenLookalikes: a Secret that only has a token's name is neither
// accepted nor deleted.
func testTokenLookalikes(t *testing.T, cs kubernetes.Interface) {
	ns := newNamespace(t, cs, "pki-lookalike")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tokens := newTokens(t, cs, ns, &fakeClock{})
	tok, _, err := tokens.Create(ctx, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := cs.CoreV1().Secrets(ns).Get(ctx, pki.TokenSecretPrefix+tok.ID, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fake := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pki.TokenSecretPrefix + "abc123"},
		Type:       corev1.SecretTypeOpaque,
		Data:       stored.Data,
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, fake, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Validate(ctx, "abc123."+tok.Secret); !errors.Is(err, pki.ErrTokenInvalid) {
		t.Errorf("Validate(lookalike) = %v, want ErrTokenInvalid", err)
	}
	if err := tokens.Revoke(ctx, "abc123"); !errors.Is(err, pki.ErrTokenNotFound) {
		t.Errorf("Revoke(lookalike) = %v, want ErrTokenNotFound", err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, fake.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("lookalike Secret gone: %v", err)
	}
	list, err := tokens.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != tok.ID {
		t.Errorf("List = %+v, %v; want only %s", list, err, tok.ID)
	}
}
