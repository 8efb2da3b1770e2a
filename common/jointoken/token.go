package jointoken

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Lengths of a token's parts.
const (
	IDLength     = 6
	SecretLength = 16
	hashHexLen   = 64
)

// hashPrefix is certs.Hash's prefix (not imported: this package stays pure).
const hashPrefix = "sha256:"

// alphabet is what ids and secrets are made of.
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// Token is a join token: "<id>.<secret>.<caHash hex>". CAHash is kept in
// the certs.Hash form "sha256:<hex>".
type Token struct {
	ID, Secret, CAHash string
}

// Generate returns a new token with a random id and secret that pins the CA
// whose certs.Hash is caHash.
func Generate(caHash string) (Token, error) {
	hexHash, ok := strings.CutPrefix(caHash, hashPrefix)
	if !ok {
		return Token{}, fmt.Errorf("generate join token: CA hash %q does not start with %q", caHash, hashPrefix)
	}
	if err := checkCAHash(hexHash); err != nil {
		return Token{}, fmt.Errorf("generate join token: %w", err)
	}
	id, err := randomString(IDLength)
	if err != nil {
		return Token{}, fmt.Errorf("generate join token id: %w", err)
	}
	secret, err := randomString(SecretLength)
	if err != nil {
		return Token{}, fmt.Errorf("generate join token secret: %w", err)
	}
	return Token{ID: id, Secret: secret, CAHash: caHash}, nil
}

// Parse parses a full token "<id>.<secret>.<ca hash>", ignoring surrounding
// white space (a token read from a file may end in a newline). Its errors
// say which part is wrong and why, and never contain the secret.
func Parse(s string) (Token, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 {
		return Token{}, fmt.Errorf("parse join token: %d part(s) separated by '.', want 3: <id>.<secret>.<ca hash>", len(parts))
	}
	if err := checkCredential(parts[0], parts[1]); err != nil {
		return Token{}, fmt.Errorf("parse join token: %w", err)
	}
	if err := checkCAHash(parts[2]); err != nil {
		return Token{}, fmt.Errorf("parse join token: %w", err)
	}
	return Token{ID: parts[0], Secret: parts[1], CAHash: hashPrefix + parts[2]}, nil
}

// ParseCredential parses what a node presents, "<id>.<secret>", or a full
// token (whose CA hash is then checked for form and dropped). Its errors
// never contain the secret.
func ParseCredential(s string) (id, secret string, err error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	switch len(parts) {
	case 2:
		if err := checkCredential(parts[0], parts[1]); err != nil {
			return "", "", fmt.Errorf("parse join credential: %w", err)
		}
		return parts[0], parts[1], nil
	case 3:
		t, err := Parse(s)
		if err != nil {
			return "", "", err
		}
		return t.ID, t.Secret, nil
	default:
		return "", "", fmt.Errorf("parse join credential: %d part(s) separated by '.', want <id>.<secret>", len(parts))
	}
}

// String is the full token, as given to an operator.
func (t Token) String() string {
	return t.Credential() + "." + strings.TrimPrefix(t.CAHash, hashPrefix)
}

// Credential is "<id>.<secret>", what the node presents as a bearer token.
func (t Token) Credential() string {
	return t.ID + "." + t.Secret
}

// LogValue implements slog.LogValuer: logs show the id, never the secret.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", t.ID), slog.String("caHash", t.CAHash))
}

// checkCredential checks the id and secret parts. Its errors quote neither:
// parts given in the wrong order would put the secret where the id belongs.
func checkCredential(id, secret string) error {
	if len(id) != IDLength {
		return fmt.Errorf("id: %d characters, want %d", len(id), IDLength)
	}
	if !inAlphabet(id) {
		return errors.New("id: characters outside [a-z0-9]")
	}
	if len(secret) != SecretLength {
		return fmt.Errorf("secret: %d characters, want %d", len(secret), SecretLength)
	}
	if !inAlphabet(secret) {
		return errors.New("secret: characters outside [a-z0-9]")
	}
	return nil
}

// checkCAHash checks the hex part of a CA hash.
func checkCAHash(hexHash string) error {
	if strings.HasPrefix(hexHash, hashPrefix) {
		return fmt.Errorf("CA hash: write the hex digits without the %q prefix", hashPrefix)
	}
	if len(hexHash) != hashHexLen {
		return fmt.Errorf("CA hash: %d characters, want %d lowercase hex digits", len(hexHash), hashHexLen)
	}
	for _, c := range hexHash {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("CA hash %q: want lowercase hex digits only", hexHash)
		}
	}
	return nil
}

func inAlphabet(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune(alphabet, c) {
			return false
		}
	}
	return true
}

// randomString returns n characters drawn uniformly from alphabet with
// crypto/rand (bytes at or above the largest multiple of 36 are rejected, so
// there is no modulo bias).
func randomString(n int) (string, error) {
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
