package pki

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tether-edge/tether/common/certs"
	"github.com/tether-edge/tether/common/daemon/metricstest"
)

// TestValidateCountsDenials: each refused credential counts once with its
// reason; a valid token and a store that cannot be read count nothing.
func TestValidateCountsDenials(t *testing.T) {
	ctx := context.Background()
	ca, err := certs.NewCA("tokens-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kube := fake.NewClientset()
	now := time.Now()
	reg := prometheus.NewRegistry()
	tokens, err := NewTokens(TokenOptions{Client: kube, Namespace: "tether-system", CAHash: ca.Hash(),
		Clock: func() time.Time { return now }, Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	good, _, err := tokens.Create(ctx, time.Hour, "good")
	if err != nil {
		t.Fatal(err)
	}
	short, _, err := tokens.Create(ctx, time.Minute, "short")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)

	steps := []struct {
		name       string
		credential string
		want       error
		invalid    float64
		expired    float64
	}{
		{"valid", good.Credential(), nil, 0, 0},
		{"malformed", "not-a-token", ErrTokenInvalid, 1, 0},
		{"unknown id", "abcdef.0123456789abcdef", ErrTokenInvalid, 2, 0},
		{"wrong secret", good.ID + ".0123456789abcdef", ErrTokenInvalid, 3, 0},
		{"expired", short.Credential(), ErrTokenExpired, 3, 1},
	}
	const denials = "tether_join_token_denials_total"
	for _, s := range steps {
		err := tokens.Validate(ctx, s.credential)
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("%s: Validate = %v; want %v", s.name, err, s.want)
		}
		got := metricstest.ByLabel(t, reg, denials, "reason")
		if got[DenyTokenInvalid] != s.invalid || got[DenyTokenExpired] != s.expired || len(got) != 2 {
			t.Errorf("after %s: denials %v; want invalid %v, expired %v", s.name, got, s.invalid, s.expired)
		}
	}

	kube.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver away")
	})
	if err := tokens.Validate(ctx, good.Credential()); err == nil || errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("Validate with the store away = %v; want a store error", err)
	}
	if got := metricstest.ByLabel(t, reg, denials, "reason"); got[DenyTokenInvalid] != 3 || got[DenyTokenExpired] != 1 {
		t.Errorf("a store error counted as a denial: %v", got)
	}
}
