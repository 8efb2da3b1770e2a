package edgecontroller

import (
	"context"
	"encoding/json"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-edge/tether/common/kubemsg"
)

// Service-account token lifetimes, in seconds.
const (
	defaultTokenSeconds = 3600
	minTokenSeconds     = 600 // the apiserver refuses less
)

// getObject answers a configmap or secret query: the downstream cache's
// copy when it has one (already in the edge's form), else the apiserver's.
func (u *upstream) getObject(ctx context.Context, ref objectRef) ([]byte, error) {
	if u.objects != nil {
		if obj, ok := u.objects.object(ref); ok {
			b, err := json.Marshal(obj)
			if err != nil {
				return nil, fmt.Errorf("encode %s %s/%s: %w", ref.Kind, ref.Namespace, ref.Name, err)
			}
			return b, nil
		}
	}
	var (
		obj runtime.Object
		err error
	)
	core := u.opts.Client.CoreV1()
	if ref.Kind == kubemsg.TypeSecret {
		obj, err = core.Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	} else {
		obj, err = core.ConfigMaps(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s/%s: %w", ref.Kind, ref.Namespace, ref.Name, err)
	}
	return objectJSON(obj)
}

// issueToken answers a token query: a token of service account sa bound
// to pod.
func (u *upstream) issueToken(ctx context.Context, pod *corev1.Pod, sa string, q kubemsg.TokenQuery) ([]byte, error) {
	tr, err := u.opts.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, tokenRequest(pod, q), metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for %s/%s of pod %s: %w", pod.Namespace, sa, pod.Name, err)
	}
	b, err := json.Marshal(kubemsg.TokenAnswer{Token: tr.Status.Token, ExpirationTimestamp: tr.Status.ExpirationTimestamp.Time})
	if err != nil {
		return nil, fmt.Errorf("encode token answer: %w", err)
	}
	return b, nil
}

// tokenRequest is the TokenRequest for q, bound to pod: expiration
// defaultTokenSeconds when q has none, at least minTokenSeconds.
func tokenRequest(pod *corev1.Pod, q kubemsg.TokenQuery) *authenticationv1.TokenRequest {
	exp := q.ExpirationSeconds
	if exp == 0 {
		exp = defaultTokenSeconds
	}
	exp = max(exp, minTokenSeconds)
	return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         q.Audiences,
		ExpirationSeconds: &exp,
		BoundObjectRef: &authenticationv1.BoundObjectReference{
			Kind:       "Pod",
			APIVersion: "v1",
			Name:       pod.Name,
			UID:        pod.UID,
		},
	}}
}
