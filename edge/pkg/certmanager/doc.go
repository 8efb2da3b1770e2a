// Package certmanager gives edgecore its identity: the cluster CA, the
// node's private key and its client certificate (CN system:node:<name>, O
// system:nodes), bootstrapped once with a join token and then rotated
// before they expire.
//
// Order of calls: New, then Bootstrap once, then ClientTLS (any number of
// times) and Run in a goroutine of its own until the context ends. Current
// and the tls.Config callbacks are safe to call from any goroutine at any
// time after Bootstrap.
//
// Bootstrap uses the files on disk when they hold a certificate that
// matches the key, is signed by the CA file, names the node and has not
// expired. Otherwise it joins with the token: it downloads the CA from
// GET /ca.crt without verifying the server (nothing is trusted yet) and
// accepts it only when its certs.Hash equals the hash the token pins; from
// then on every request verifies the server against that CA. It writes the
// key (mode 0600) before asking for a certificate, presents the token as
// "Authorization: Bearer <id>.<secret>", and forgets the token once it holds
// a certificate: afterwards only the certificate authenticates the node.
//
// Run rotates the certificate at a jittered 70–90% of its lifetime
// (RotationDelay): a new key and CSR, authenticated by the current
// certificate over mTLS, never by the token. The new key is first written
// beside the key file (KeyFile+".next"), then the certificate and the key
// replace the old ones atomically one after the other; if the process dies
// between the two, the next Bootstrap finds the pending key that matches the
// new certificate and completes the swap. The connection to the cloud picks
// the new certificate up on its next dial (ClientTLS). Failed rotations are
// retried with exponential back-off (RetryInitial doubling up to RetryMax).
//
// Files are written with certs.WriteFileAtomic; the CA and the certificate
// are mode 0644, keys 0600. Missing parent directories are created (0755).
package certmanager
