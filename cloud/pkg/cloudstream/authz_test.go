package cloudstream_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tether-edge/tether/cloud/pkg/cloudstream"
)

// fakeAuthorizer allows the users in allowed and records what it was asked.
type fakeAuthorizer struct {
	allowed []string

	// mu guards the fields below.
	mu    sync.Mutex
	err   error // returned for every request when set
	asked []cloudstream.Request
}

func (a *fakeAuthorizer) Authorize(_ context.Context, r cloudstream.Request) error {
	a.mu.Lock()
	a.asked = append(a.asked, r)
	err := a.err
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if !slices.Contains(a.allowed, r.User) {
		return fmt.Errorf("%w: %s", cloudstream.ErrForbidden, r.User)
	}
	return nil
}

func (a *fakeAuthorizer) last() cloudstream.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asked[len(a.asked)-1]
}

// A client the kubelet client CA verifies still needs the Authorizer's
// yes: a user certificate from a cluster's client CA does not reach the
// edge.
func TestAuthorizerDecides(t *testing.T) {
	authz := &fakeAuthorizer{allowed: []string{"kube-apiserver-kubelet-client"}}
	c := startCloud(t, map[string]string{"default/web": "edge-a"}, func(o *cloudstream.Options) { o.Authorizer = authz })
	reached := make(chan string, 10)
	c.connectEdge(t, "edge-a", "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- r.URL.Path
	}))

	alice := issueLeaf(t, c.pki.kubelet, pkix.Name{CommonName: "alice", Organization: []string{"dev", "ops"}}, x509.ExtKeyUsageClientAuth)
	got := get(t, c.client(t, &alice), c.url("/exec/default/web/app?command=sh"))
	if got.status != http.StatusForbidden || !strings.Contains(got.body, "alice") {
		t.Errorf("alice: %d %q; want 403 naming her", got.status, got.body)
	}
	want := cloudstream.Request{User: "alice", Groups: []string{"dev", "ops", "system:authenticated"}, Verb: "create", Node: "edge-a"}
	if r := authz.last(); !equalRequests(r, want) {
		t.Errorf("asked %+v; want %+v", r, want)
	}
	select {
	case p := <-reached:
		t.Fatalf("a refused request reached the edge: %s", p)
	default:
	}

	api := c.apiserver(t)
	for _, tc := range []struct{ method, path, verb string }{
		{"GET", "/containerLogs/default/web/app", "get"},
		{"POST", "/exec/default/web/app", "create"},
		{"GET", "/exec/default/web/app", "create"}, // WebSocket exec starts a process too
		{"GET", "/attach/default/web/app", "create"},
		{"GET", "/portForward/default/web", "create"},
	} {
		req, _ := http.NewRequest(tc.method, c.url(tc.path), nil)
		if got := do(t, api, req); got.status != http.StatusOK {
			t.Errorf("apiserver %s %s: %d %q", tc.method, tc.path, got.status, got.body)
		}
		if r := authz.last(); r.Verb != tc.verb || r.User != "kube-apiserver-kubelet-client" {
			t.Errorf("%s %s asked for %+v; want verb %s", tc.method, tc.path, r, tc.verb)
		}
		<-reached
	}

	authz.mu.Lock()
	authz.err = errors.New("apiserver unavailable")
	authz.mu.Unlock()
	if got := get(t, api, c.url("/containerLogs/default/web/app")); got.status != http.StatusServiceUnavailable {
		t.Errorf("authorizer failing: %d %q; want 503", got.status, got.body)
	}
}

func equalRequests(a, b cloudstream.Request) bool {
	return a.User == b.User && a.Verb == b.Verb && a.Node == b.Node && slices.Equal(a.Groups, b.Groups)
}

func TestSubjectAccessReviews(t *testing.T) {
	kube := fake.NewClientset()
	var asked []authorizationv1.SubjectAccessReviewSpec
	kube.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		asked = append(asked, sar.Spec)
		if sar.Spec.User == "fail" {
			return true, nil, errors.New("etcd is down")
		}
		sar.Status.Allowed = sar.Spec.User == "kube-apiserver-kubelet-client"
		if !sar.Status.Allowed && sar.Spec.User == "bob" {
			sar.Status.Reason = "bob is on holiday"
		}
		return true, sar, nil
	})
	authz := cloudstream.AuthorizerFromClient(kube)
	ctx := context.Background()
	req := cloudstream.Request{User: "kube-apiserver-kubelet-client", Groups: []string{"system:masters", "system:authenticated"}, Verb: "create", Node: "edge-1"}
	if err := authz.Authorize(ctx, req); err != nil {
		t.Errorf("apiserver: %v", err)
	}
	ra := asked[0].ResourceAttributes
	if ra == nil || ra.Verb != "create" || ra.Resource != "nodes" || ra.Subresource != "proxy" || ra.Name != "edge-1" || ra.Group != "" ||
		asked[0].User != req.User || !slices.Equal(asked[0].Groups, req.Groups) {
		t.Errorf("review asked %+v %+v", asked[0], ra)
	}
	for _, tc := range []struct{ user, want string }{
		{"bob", "bob is on holiday"},
		{"carol", "no RBAC rule"},
	} {
		err := authz.Authorize(ctx, cloudstream.Request{User: tc.user, Verb: "get", Node: "edge-1"})
		if !errors.Is(err, cloudstream.ErrForbidden) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrForbidden saying %q", tc.user, err, tc.want)
		}
	}
	if err := authz.Authorize(ctx, cloudstream.Request{User: "fail", Verb: "get", Node: "edge-1"}); err == nil || errors.Is(err, cloudstream.ErrForbidden) {
		t.Errorf("review failing: %v; want an error that is not ErrForbidden", err)
	}
}
