// Package certs is Tether's certificate arithmetic: the cluster CA, the hub's
// serving certificate, node keys, CSRs and node client certificates. It does
// no I/O beyond WriteFileAtomic and imports no Kubernetes client code, so
// edgecore links it.
//
// Identities. A node is named by its client certificate alone: the subject
// CN is NodeCNPrefix+<node> where <node> is a DNS-1123 subdomain, and the
// subject O contains NodesGroup. SignNodeCSR issues only such certificates
// (O exactly [NodesGroup]); NodeName reads the node back out of a verified
// certificate and refuses anything else with an error wrapping ErrNotANode.
//
// Pinning. Hash is "sha256:" + hex(sha256(DER)) of a certificate; a join
// token carries the CA's Hash so that an edge can pin the CA it downloads.
//
// Keys are ECDSA P-256 and every random value (keys, 128-bit serials) comes
// from crypto/rand. A certificate's NotBefore is now minus one minute, to
// tolerate clock skew between hub and edge; for a certificate valid less
// than ten minutes it is now minus a tenth of its validity instead, so that
// the lifetime an edge times its rotation by is not mostly backdating.
// Callers pass now explicitly; the package reads no clock.
//
// All functions are safe for concurrent use; a *CA is immutable after
// construction.
package certs
