// Package jointoken defines the join token an operator gives a new edge node.
//
// A token reads "<id>.<secret>.<ca hash>":
//
//	id       6 characters of [a-z0-9], public: it names the token (cloudcore
//	         stores it as Secret tether-token-<id>) and may be logged
//	secret   16 characters of [a-z0-9] (about 82 bits), known only to the
//	         operator and the node; cloudcore keeps only its SHA-256
//	ca hash  the 64 lowercase hex digits of the cluster CA's certs.Hash,
//	         without the "sha256:" prefix; the node pins the CA with it
//
// The node authenticates to the join server with Credential ("<id>.<secret>")
// as a bearer token. Errors from this package never contain the secret, and a
// Token logged through log/slog shows only its id.
//
// The package is pure: no I/O, no state; everything is safe for concurrent use.
package jointoken
