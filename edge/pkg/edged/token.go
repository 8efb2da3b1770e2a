package edged

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// tokenKey names one projected token of one pod.
type tokenKey struct {
	uid      types.UID
	audience string
	seconds  int64
}

// cachedToken is a token and when to ask for a new one.
type cachedToken struct {
	token            []byte
	refresh, expires time.Time
}

// tokens caches service-account tokens until 80% of their lifetime has
// passed, the kubelet's rule, so that a volume refresh at every sync does
// not ask the cloud each time.
type tokens struct {
	mu    sync.Mutex
	byKey map[tokenKey]cachedToken
}

// token returns a token of pod's service account for a projected
// serviceAccountToken source, from the cache or the cloud (through
// MetaManager). With the cloud away and the cached token due for
// refresh, the cached one is returned while it has not expired.
func (e *Edged) token(pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error) {
	var seconds int64
	if src.ExpirationSeconds != nil {
		seconds = *src.ExpirationSeconds
	}
	key := tokenKey{uid: pod.UID, audience: src.Audience, seconds: seconds}
	now := e.opts.Now()
	e.tokens.mu.Lock()
	cached, ok := e.tokens.byKey[key]
	e.tokens.mu.Unlock()
	if ok && now.Before(cached.refresh) {
		return cached.token, nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	q := kubemsg.TokenQuery{Pod: pod.Name, PodUID: pod.UID, ExpirationSeconds: seconds}
	if src.Audience != "" {
		q.Audiences = []string{src.Audience}
	}
	body, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	msg := message.New(Name, e.opts.Store, message.OpQuery,
		message.Resource{Namespace: pod.Namespace, Type: kubemsg.TypeToken, Name: sa}, body)
	msg.Route.Group = kubemsg.Group
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.RequestTimeout)
	defer cancel()
	resp, err := e.opts.Bus.SendSync(ctx, msg, e.opts.RequestTimeout)
	if err == nil && resp.Route.Operation == message.OpError {
		err = errorText(resp.Content)
	}
	var answer kubemsg.TokenAnswer
	if err == nil {
		err = json.Unmarshal(resp.Content, &answer)
	}
	if err != nil || strings.TrimSpace(answer.Token) == "" {
		if ok && now.Before(cached.expires) {
			return cached.token, nil
		}
		return nil, fmt.Errorf("service account token for %s/%s: %w", pod.Namespace, sa, orEmpty(err))
	}
	life := answer.ExpirationTimestamp.Sub(now)
	t := cachedToken{token: []byte(answer.Token), refresh: now.Add(life * 8 / 10), expires: answer.ExpirationTimestamp}
	e.tokens.mu.Lock()
	if e.tokens.byKey == nil {
		e.tokens.byKey = map[tokenKey]cachedToken{}
	}
	e.tokens.byKey[key] = t
	e.tokens.mu.Unlock()
	return t.token, nil
}

// forgetTokens drops a finished pod's tokens.
func (e *Edged) forgetTokens(uid types.UID) {
	e.tokens.mu.Lock()
	defer e.tokens.mu.Unlock()
	for k := range e.tokens.byKey {
		if k.uid == uid {
			delete(e.tokens.byKey, k)
		}
	}
}

func orEmpty(err error) error {
	if err == nil {
		return fmt.Errorf("the cloud answered an empty token")
	}
	return err
}
