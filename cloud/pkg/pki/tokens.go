package pki

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/tether-edge/tether/common/jointoken"
)

// How tokens are stored.
const (
	// TokenSecretPrefix + id names a token's Secret.
	TokenSecretPrefix = "tether-token-"
	// TokenLabel is set to "true" on every token Secret.
	TokenLabel = "tether.io/join-token"
	// TokenSecretType is the type of every token Secret.
	TokenSecretType corev1.SecretType = "tether.io/join-token"
	// Data keys of a token Secret.
	KeySecretHash  = "secret-sha256" // lowercase hex SHA-256 of the token's secret
	KeyExpiration  = "expiration"    // RFC 3339
	KeyDescription = "description"
)

// createAttempts bounds retries of Create when a random id is taken.
const createAttempts = 3

// Errors callers branch on.
var (
	// ErrTokenInvalid: the credential is malformed, its id is unknown, or its
	// secret is wrong. The three are deliberately not told apart.
	ErrTokenInvalid = errors.New("join token invalid")
	// ErrTokenExpired: the credential was right but its token has expired.
	ErrTokenExpired = errors.New("join token expired")
	// ErrTokenNotFound: Revoke found no token with that id.
	ErrTokenNotFound = errors.New("join token not found")
)

// TokenOptions configure Tokens.
type TokenOptions struct {
	// Client reaches the apiserver. Required.
	Client kubernetes.Interface
	// Namespace holds the token Secrets (cloudcore's own). Required.
	Namespace string
	// CAHash is the cluster CA's certs.Hash, written into every new token.
	// Required.
	CAHash string
	// Clock tells the time for expiry. nil = time.Now.
	Clock func() time.Time
	// Logger reports failed clean-ups of expired tokens. nil = discard.
	Logger *slog.Logger
	// Metrics count the credentials Validate refuses; nil means NewMetrics
	// of a private registry (nothing is exported).
	Metrics *Metrics
}

// TokenInfo describes a stored token; it never holds the secret.
type TokenInfo struct {
	ID          string
	Expires     time.Time
	Description string
}

// Tokens creates, lists, validates and revokes join tokens stored as
// Secrets.
type Tokens struct {
	opts TokenOptions
}

// NewTokens validates o and returns a token store.
func NewTokens(o TokenOptions) (*Tokens, error) {
	switch {
	case o.Client == nil:
		return nil, errors.New("pki tokens: Client is required")
	case o.Namespace == "":
		return nil, errors.New("pki tokens: Namespace is required")
	}
	if _, err := jointoken.Generate(o.CAHash); err != nil {
		return nil, fmt.Errorf("pki tokens: CAHash: %w", err)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return &Tokens{opts: o}, nil
}

// Create makes a token valid for ttl and stores it. It first deletes
// expired tokens (best effort). The returned token is the only copy of its
// secret.
func (t *Tokens) Create(ctx context.Context, ttl time.Duration, description string) (jointoken.Token, TokenInfo, error) {
	if ttl <= 0 {
		return jointoken.Token{}, TokenInfo{}, fmt.Errorf("create join token: ttl %v must be positive", ttl)
	}
	if _, err := t.list(ctx); err != nil {
		return jointoken.Token{}, TokenInfo{}, fmt.Errorf("create join token: %w", err)
	}
	info := TokenInfo{Expires: t.opts.Clock().Add(ttl).UTC().Truncate(time.Second), Description: description}
	for range createAttempts {
		tok, err := jointoken.Generate(t.opts.CAHash)
		if err != nil {
			return jointoken.Token{}, TokenInfo{}, fmt.Errorf("create join token: %w", err)
		}
		info.ID = tok.ID
		_, err = t.secrets().Create(ctx, t.tokenSecret(tok, info), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue // the random id is taken: draw another
		}
		if err != nil {
			return jointoken.Token{}, TokenInfo{}, fmt.Errorf("create join token %s: store secret: %w", tok.ID, err)
		}
		return tok, info, nil
	}
	return jointoken.Token{}, TokenInfo{}, fmt.Errorf("create join token: %d random ids were all taken", createAttempts)
}

// List returns the tokens that can still be used, sorted by expiry, then
// id. It deletes the expired tokens it finds (best effort).
func (t *Tokens) List(ctx context.Context) ([]TokenInfo, error) {
	infos, err := t.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("list join tokens: %w", err)
	}
	return infos, nil
}

// Revoke deletes the token with the given id; ErrTokenNotFound when there
// is none. A Secret that merely has a token's name but not its type and
// label is left alone (and reported as not found).
func (t *Tokens) Revoke(ctx context.Context, id string) error {
	s, err := t.secrets().Get(ctx, TokenSecretPrefix+id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || err == nil && !isTokenSecret(s) {
		return fmt.Errorf("revoke join token %s: %w", id, ErrTokenNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke join token %s: read secret: %w", id, err)
	}
	pre := metav1.Preconditions{UID: &s.UID}
	err = t.secrets().Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &pre})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("revoke join token %s: %w", id, ErrTokenNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke join token %s: delete secret: %w", id, err)
	}
	return nil
}

// Validate checks a presented credential "<id>.<secret>" (a full token is
// accepted too). It returns nil, an error wrapping ErrTokenInvalid or
// ErrTokenExpired, or another error when the store cannot be read. Each
// refusal (not a store error) is counted in Metrics.
func (t *Tokens) Validate(ctx context.Context, credential string) error {
	err := t.validate(ctx, credential)
	switch {
	case errors.Is(err, ErrTokenExpired):
		t.opts.Metrics.denials.WithLabelValues(DenyTokenExpired).Inc()
	case errors.Is(err, ErrTokenInvalid):
		t.opts.Metrics.denials.WithLabelValues(DenyTokenInvalid).Inc()
	}
	return err
}

func (t *Tokens) validate(ctx context.Context, credential string) error {
	id, secret, err := jointoken.ParseCredential(credential)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	s, err := t.secrets().Get(ctx, TokenSecretPrefix+id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ErrTokenInvalid
	}
	if err != nil {
		return fmt.Errorf("validate join token %s: read secret: %w", id, err)
	}
	if !isTokenSecret(s) {
		return ErrTokenInvalid
	}
	sum := sha256.Sum256([]byte(secret))
	want, err := hex.DecodeString(string(s.Data[KeySecretHash]))
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return ErrTokenInvalid
	}
	info, err := tokenInfo(s)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if !t.opts.Clock().Before(info.Expires) {
		return fmt.Errorf("%w: token %s expired at %s", ErrTokenExpired, id, info.Expires.Format(time.RFC3339))
	}
	return nil
}

// list returns the live tokens sorted by expiry and deletes expired ones.
func (t *Tokens) list(ctx context.Context) ([]TokenInfo, error) {
	l, err := t.secrets().List(ctx, metav1.ListOptions{LabelSelector: TokenLabel + "=true"})
	if err != nil {
		return nil, fmt.Errorf("list secrets in %s: %w", t.opts.Namespace, err)
	}
	now := t.opts.Clock()
	var live []TokenInfo
	for i := range l.Items {
		s := &l.Items[i]
		if !isTokenSecret(s) {
			continue
		}
		info, err := tokenInfo(s)
		if err != nil {
			t.opts.Logger.Warn("skipping malformed join token secret", "secret", s.Name, "err", err)
			continue
		}
		if now.Before(info.Expires) {
			live = append(live, info)
			continue
		}
		t.deleteExpired(ctx, s)
	}
	slices.SortFunc(live, func(a, b TokenInfo) int {
		return cmp.Or(a.Expires.Compare(b.Expires), strings.Compare(a.ID, b.ID))
	})
	return live, nil
}

// deleteExpired deletes an expired token's Secret, only if it is still the
// version that was seen expired.
func (t *Tokens) deleteExpired(ctx context.Context, s *corev1.Secret) {
	pre := metav1.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion}
	err := t.secrets().Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &pre})
	if err != nil && !apierrors.IsNotFound(err) {
		t.opts.Logger.Warn("delete expired join token", "secret", s.Name, "err", err)
	}
}

func (t *Tokens) secrets() corev1client.SecretInterface {
	return t.opts.Client.CoreV1().Secrets(t.opts.Namespace)
}

// tokenSecret builds the Secret storing tok; info supplies expiry and
// description.
func (t *Tokens) tokenSecret(tok jointoken.Token, info TokenInfo) *corev1.Secret {
	sum := sha256.Sum256([]byte(tok.Secret))
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: t.opts.Namespace,
			Name:      TokenSecretPrefix + tok.ID,
			Labels:    map[string]string{TokenLabel: "true"},
		},
		Type: TokenSecretType,
		Data: map[string][]byte{
			KeySecretHash:  []byte(hex.EncodeToString(sum[:])),
			KeyExpiration:  []byte(info.Expires.Format(time.RFC3339)),
			KeyDescription: []byte(info.Description),
		},
	}
}

// isTokenSecret tells a token Secret from another Secret that merely shares
// the name prefix.
func isTokenSecret(s *corev1.Secret) bool {
	return s.Type == TokenSecretType && s.Labels[TokenLabel] == "true" && strings.HasPrefix(s.Name, TokenSecretPrefix)
}

// tokenInfo reads a token Secret's id, expiry and description.
func tokenInfo(s *corev1.Secret) (TokenInfo, error) {
	exp, err := time.Parse(time.RFC3339, string(s.Data[KeyExpiration]))
	if err != nil {
		return TokenInfo{}, fmt.Errorf("token secret %s: %s: %w", s.Name, KeyExpiration, err)
	}
	return TokenInfo{
		ID:          strings.TrimPrefix(s.Name, TokenSecretPrefix),
		Expires:     exp,
		Description: string(s.Data[KeyDescription]),
	}, nil
}
