// Package joinserver is cloudcore's join endpoint, a beehive module serving
// HTTPS (TLS 1.3 only) with the hub's serving certificate:
//
//	GET  /ca.crt               the cluster CA certificate (PEM); no authentication
//	POST /v1/node-certificate  body: a PEM CSR (at most 64 KiB); answer: the
//	                           PEM client certificate CN system:node:<name>,
//	                           O system:nodes, valid Options.NodeCertValidity
//
// A signing request is authenticated in one of two ways:
//
//   - Authorization: Bearer <id>.<secret>, a join token checked by
//     Options.Tokens. A token may join any node name: it is what an operator
//     hands to a new node. When the header is present it decides, even if a
//     client certificate was presented too.
//   - Otherwise a client certificate, verified by the TLS handshake against
//     the CA, whose certs.NodeName must equal the node in the CSR: a node's
//     certificate renews that node's certificate and no other.
//
// Answers: 200 with the certificate; 400 for a malformed or refused CSR (the
// body says what is wrong); 401 when there are no credentials or the token
// is invalid or expired; 403 when a certificate asks for another node or
// names no node; 413 for a body over 64 KiB; 503 when the token store cannot
// be read; 404 and 405 for other paths and methods. A client certificate
// from another CA fails the TLS handshake.
//
// Every issuance is logged (node, how it was authenticated: token id or
// certificate, serial, expiry) and so is every refusal with its reason. A
// token's secret is never logged.
//
// New binds the listener, so a port in use is reported before any module
// starts. Start serves until its context ends and then shuts the server down
// gracefully; each Start builds a fresh http.Server, so the bus can restart
// the module. The handlers are safe for concurrent use.
package joinserver
