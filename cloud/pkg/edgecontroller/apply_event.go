package edgecontroller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// recordEvent creates the event node reported, or, when one of that name
// exists, takes the repeat's count, last timestamp and message into it (the
// edge aggregates repeats under one name). It answers the resulting Event.
func (u *upstream) recordEvent(ctx context.Context, node string, sent *corev1.Event) ([]byte, error) {
	events := u.opts.Client.CoreV1().Events(sent.Namespace)
	ev := eventToCreate(node, sent)
	got, err := events.Create(ctx, ev, metav1.CreateOptions{})
	if err == nil {
		return objectJSON(got)
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create event %s/%s: %w", ev.Namespace, ev.Name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := events.Get(ctx, ev.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := sameEventSubject(cur, ev); err != nil {
			return err
		}
		repeated(cur, ev, u.opts.Now())
		got, err = events.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	var d *denial
	if errors.As(err, &d) {
		return nil, d
	}
	if err != nil {
		return nil, fmt.Errorf("update event %s/%s: %w", ev.Namespace, ev.Name, err)
	}
	return objectJSON(got)
}

// eventToCreate is the event to create from what node sent: its source
// host is node, whatever the edge said.
func eventToCreate(node string, sent *corev1.Event) *corev1.Event {
	ev := sent.DeepCopy()
	ev.ObjectMeta = metav1.ObjectMeta{
		Name:        sent.Name,
		Namespace:   sent.Namespace,
		Labels:      sent.Labels,
		Annotations: sent.Annotations,
	}
	ev.Source.Host = node
	return ev
}

// sameEventSubject refuses to fold a repeat into an existing event that
// another node reported or that is about another object: the name is the
// edge's claim, the existing event the cluster's fact.
func sameEventSubject(cur, repeat *corev1.Event) error {
	a, b := cur.InvolvedObject, repeat.InvolvedObject
	if cur.Source.Host != repeat.Source.Host || a.Kind != b.Kind || a.Namespace != b.Namespace || a.Name != b.Name {
		return deny("event %s/%s exists about %s %q from host %q", cur.Namespace, cur.Name, a.Kind, a.Name, cur.Source.Host)
	}
	return nil
}

// repeated sets in cur what a repeat of it changes: the count (one more
// when the edge sent none), the last timestamp (now when the edge sent
// none) and the message.
func repeated(cur, repeat *corev1.Event, now time.Time) {
	if repeat.Count > 0 {
		cur.Count = repeat.Count
	} else {
		cur.Count++
	}
	cur.LastTimestamp = repeat.LastTimestamp
	if cur.LastTimestamp.IsZero() {
		cur.LastTimestamp = metav1.NewTime(now)
	}
	cur.Message = repeat.Message
}
