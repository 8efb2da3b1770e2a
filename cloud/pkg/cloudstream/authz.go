package cloudstream

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ErrForbidden is wrapped by an Authorizer's error when the client may not
// make the request: the stream server answers 403.
var ErrForbidden = errors.New("forbidden")

// Request is a stream request as an Authorizer sees it, in the terms a
// kubelet authorizes it: the nodes/proxy subresource of Node.
type Request struct {
	// User and Groups are the client certificate's CN and O, with
	// system:authenticated added, as kube-apiserver would authenticate it.
	User   string
	Groups []string
	// Verb is get for GET and HEAD, create for POST and for every exec,
	// attach and port-forward request (whatever its method), update for
	// PUT, patch for PATCH, delete for DELETE.
	Verb string
	// Node is the node the request is routed to.
	Node string
}

// Authorizer decides whether a verified client may make a request. It
// returns nil when it may, an error wrapping ErrForbidden when it may not,
// and any other error when it cannot tell (the stream server answers 503).
type Authorizer interface {
	Authorize(ctx context.Context, r Request) error
}

// SubjectAccessReviews authorizes with a SubjectAccessReview per request,
// as a kubelet in Webhook authorization mode does: the client needs the
// verb on nodes/proxy of the node (kubeadm grants kube-apiserver's kubelet
// client the ClusterRole system:kubelet-api-admin). cloudcore needs to
// create subjectaccessreviews (ClusterRole system:auth-delegator).
type SubjectAccessReviews struct {
	kube kubernetes.Interface
}

// AuthorizerFromClient returns an Authorizer that asks kube.
func AuthorizerFromClient(kube kubernetes.Interface) *SubjectAccessReviews {
	return &SubjectAccessReviews{kube: kube}
}

// Authorize implements Authorizer.
func (a *SubjectAccessReviews) Authorize(ctx context.Context, r Request) error {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   r.User,
		Groups: r.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: r.Verb, Resource: "nodes", Subresource: "proxy", Name: r.Node,
		},
	}}
	res, err := a.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("subject access review for %s: %w", r.User, err)
	}
	if !res.Status.Allowed {
		reason := res.Status.Reason
		if reason == "" {
			reason = "no RBAC rule allows it"
		}
		return fmt.Errorf("%w: user %q may not %s nodes/proxy of node %s: %s", ErrForbidden, r.User, r.Verb, r.Node, reason)
	}
	return nil
}

// authzRequest describes r, routed to node, for an Authorizer.
func authzRequest(r *http.Request, node string) Request {
	var user string
	groups := []string{"system:authenticated"}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		user, groups = certUser(r.TLS.PeerCertificates[0])
	}
	return Request{User: user, Groups: groups, Verb: verb(r), Node: node}
}

// certUser is the user and groups kube-apiserver's x509 authenticator
// makes of a client certificate.
func certUser(c *x509.Certificate) (string, []string) {
	groups := append([]string(nil), c.Subject.Organization...)
	return c.Subject.CommonName, append(groups, "system:authenticated")
}

// verb maps a request to the verb a kubelet authorizes; requests that
// start something (exec, attach, port-forward) need create even over GET
// (WebSocket).
func verb(r *http.Request) string {
	if !strings.HasPrefix(r.URL.Path, "/containerLogs/") {
		return "create"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(r.Method)
}
