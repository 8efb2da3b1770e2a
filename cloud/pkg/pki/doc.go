// Package pki holds cloudcore's trust state in Kubernetes so that every
// cloudcore replica shares it: the cluster CA and the join tokens.
//
// The CA comes from PEM files (LoadCAFiles) or from a kubernetes.io/tls
// Secret in cloudcore's namespace (EnsureCASecret). EnsureCASecret creates
// the CA the first time; replicas that start together race on Create and
// the losers read the winner's Secret, so all replicas end up with the same
// CA. A Secret that exists but does not hold a valid CA is an error and is
// never overwritten: replacing a CA would split the cluster's trust.
//
// Tokens are join tokens, each stored as a Secret tether-token-<id> (type
// TokenSecretType, label TokenLabel=true) holding the SHA-256 of the token's
// secret (never the secret), its expiry (RFC 3339) and a description. Any
// replica can validate any token. Validate compares hashes in constant time
// and returns ErrTokenInvalid alike for a malformed credential, an unknown id
// and a wrong secret, so a caller cannot probe which ids exist; an expired
// token gives ErrTokenExpired, and only after its secret matched. Each
// refusal is counted in TokenOptions.Metrics (tether_join_token_denials_total
// by reason); a store that cannot be read is not a refusal.
//
// Expired tokens are refused at once and deleted lazily: Create and List
// delete every expired token they see (best effort: a failed delete is
// logged and retried on the next call). List returns only tokens that can
// still be used.
//
// A *Tokens is safe for concurrent use; it keeps no state besides its
// options, so several replicas may use the same namespace at once.
package pki
