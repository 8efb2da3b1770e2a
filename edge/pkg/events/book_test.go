package events

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func podEvent(pod, reason, msg string) corev1.Event {
	return corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "apps", Name: pod, UID: types.UID("uid-" + pod)},
		Type:           corev1.EventTypeNormal,
		Reason:         reason,
		Message:        msg,
	}
}

func nodeEvent(node, reason string) corev1.Event {
	return corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: node, UID: types.UID(node)},
		Type:           corev1.EventTypeNormal,
		Reason:         reason,
		Message:        "Node " + node + " status is now: " + reason,
	}
}

// unlimited is a book whose token bucket never runs out.
func unlimited(buffer int) *book { return newBook("edge-1", math.MaxFloat64, 1, buffer) }

func names(b *book) []string {
	var out []string
	for _, e := range b.waiting {
		out = append(out, e.event.InvolvedObject.Name)
	}
	return out
}

func TestEventName(t *testing.T) {
	base := podEvent("web", "Pulled", "pulled nginx")
	same := regexp.MustCompile(`^web\.[0-9a-f]{16}$`)
	if n := eventName(&base); !same.MatchString(n) {
		t.Fatalf("name %q does not match %s", n, same)
	}
	again := base
	again.Count, again.Source.Host = 7, "elsewhere" // not part of the identity
	if eventName(&again) != eventName(&base) {
		t.Fatal("a repeat got another name")
	}
	changes := map[string]func(*corev1.Event){
		"kind":    func(e *corev1.Event) { e.InvolvedObject.Kind = "ReplicaSet" },
		"name":    func(e *corev1.Event) { e.InvolvedObject.Name = "web2" },
		"uid":     func(e *corev1.Event) { e.InvolvedObject.UID = "other" },
		"type":    func(e *corev1.Event) { e.Type = corev1.EventTypeWarning },
		"reason":  func(e *corev1.Event) { e.Reason = "Pulling" },
		"message": func(e *corev1.Event) { e.Message = "pulled redis" },
	}
	for what, change := range changes {
		ev := base
		change(&ev)
		if eventName(&ev) == eventName(&base) {
			t.Errorf("changing %s kept the name", what)
		}
	}
	long := podEvent(strings.Repeat("a", 240)+"-"+strings.Repeat("b", 12), "Pulled", "x")
	n := eventName(&long)
	if msgs := validation.IsDNS1123Subdomain(n); len(msgs) > 0 {
		t.Fatalf("name of a long object %q (%d): %v", n, len(n), msgs)
	}
}

func TestCompleteFillsNamespaceAndSource(t *testing.T) {
	tests := []struct {
		name string
		ev   corev1.Event
		ns   string
	}{
		{"namespaced object", podEvent("web", "Started", "started"), "apps"},
		{"cluster-scoped object", nodeEvent("edge-1", "NodeReady"), "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			complete(&ev, "edge-1")
			if ev.Namespace != tt.ns {
				t.Errorf("namespace %q, want %q", ev.Namespace, tt.ns)
			}
			if ev.Source != (corev1.EventSource{Component: "edgecore", Host: "edge-1"}) {
				t.Errorf("source %+v", ev.Source)
			}
			if ev.Name != eventName(&tt.ev) {
				t.Errorf("name %q, want %q", ev.Name, eventName(&tt.ev))
			}
		})
	}
}

// A repeat of a waiting event bumps its count and takes neither a slot nor a token.
func TestRepeatsAggregate(t *testing.T) {
	b := newBook("edge-1", 1, 1, 10)
	ev := podEvent("web", "BackOff", "back-off restarting")
	if o := b.add(ev, t0); o != added {
		t.Fatalf("first: %v", o)
	}
	if o := b.add(ev, t0.Add(5*time.Second)); o != aggregated {
		t.Fatalf("repeat: %v", o)
	}
	if o := b.add(podEvent("db", "BackOff", "x"), t0.Add(5*time.Second)); o != added {
		t.Fatalf("another event after a repeat: %v, want added (the repeat took no token)", o)
	}
	got := b.waiting[0].event
	if got.Count != 2 || !got.FirstTimestamp.Time.Equal(t0) || !got.LastTimestamp.Time.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("count %d first %v last %v", got.Count, got.FirstTimestamp, got.LastTimestamp)
	}
	if s := b.snapshot(); s.Waiting != 2 || s.Aggregated != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFullBufferDropsTheOldest(t *testing.T) {
	b := unlimited(3)
	for _, pod := range []string{"a", "b", "c", "d", "e"} {
		b.add(podEvent(pod, "Started", "started"), t0)
	}
	if got := strings.Join(names(b), ","); got != "c,d,e" {
		t.Fatalf("waiting %s, want c,d,e", got)
	}
	if s := b.snapshot(); s.Overflowed != 2 || s.Waiting != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTokenBucket(t *testing.T) {
	b := newBook("edge-1", 1, 2, 100)
	steps := []struct {
		at   time.Duration
		pod  string
		want outcome
	}{
		{0, "a", added},
		{0, "b", added},
		{0, "c", rateLimited}, // the burst is spent
		{time.Second, "d", added},
		{time.Second, "e", rateLimited},
		{3 * time.Second, "f", added},
		{3 * time.Second, "g", added},
		{3 * time.Second, "h", rateLimited}, // refilled to the burst, not beyond
	}
	for _, s := range steps {
		if o := b.add(podEvent(s.pod, "Started", "started"), t0.Add(s.at)); o != s.want {
			t.Errorf("%s at +%v: %v, want %v", s.pod, s.at, o, s.want)
		}
	}
	if s := b.snapshot(); s.RateLimited != 3 || s.Waiting != 5 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDropsReportedOncePerMinute(t *testing.T) {
	b := newBook("edge-1", 1, 1, 1)
	b.add(podEvent("a", "Started", "x"), t0)
	if _, _, ok := b.dropReport(t0); ok {
		t.Fatal("a report with nothing dropped")
	}
	b.add(podEvent("b", "Started", "x"), t0) // rate-limited
	if l, o, ok := b.dropReport(t0); !ok || l != 1 || o != 0 {
		t.Fatalf("first report: %d limited, %d overflowed, %v", l, o, ok)
	}
	b.add(podEvent("c", "Started", "x"), t0.Add(10*time.Second)) // overflows a
	b.add(podEvent("d", "Started", "x"), t0.Add(10*time.Second)) // rate-limited
	if _, _, ok := b.dropReport(t0.Add(10 * time.Second)); ok {
		t.Fatal("a second report within the minute")
	}
	if l, o, ok := b.dropReport(t0.Add(61 * time.Second)); !ok || l != 1 || o != 1 {
		t.Fatalf("report after the minute: %d limited, %d overflowed, %v; want 1 and 1", l, o, ok)
	}
}

// Once sent, a repeat takes a new slot and carries the count on.
func TestSentCountCarriesOn(t *testing.T) {
	b := unlimited(10)
	ev := podEvent("web", "BackOff", "back-off")
	b.add(ev, t0)
	e, sent, v, _ := b.next()
	b.sentOK(e, sent, v)
	if s := b.snapshot(); s.Waiting != 0 || s.Sent != 1 {
		t.Fatalf("after send: %+v", s)
	}
	b.add(ev, t0.Add(time.Minute))
	got := b.waiting[0].event
	if got.Count != 2 || !got.FirstTimestamp.Time.Equal(t0) || got.Name != sent.Name {
		t.Fatalf("repeat after send: count %d, first %v, name %q", got.Count, got.FirstTimestamp, got.Name)
	}
}

// A repeat during a send is not lost when the older count is acknowledged.
func TestRepeatWhileSending(t *testing.T) {
	b := unlimited(10)
	ev := podEvent("web", "BackOff", "back-off")
	b.add(ev, t0)
	e, sent, v, _ := b.next()
	b.add(ev, t0.Add(time.Second))
	b.sentOK(e, sent, v)
	e2, again, v2, ok := b.next()
	if !ok || e2 != e || again.Count != 2 {
		t.Fatalf("after the ack of count 1: ok %v, count %d", ok, again.Count)
	}
	b.sentOK(e2, again, v2)
	if s := b.snapshot(); s.Waiting != 0 || s.Sent != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// An event dropped from a full buffer while in flight does not take its
// successor with it when it settles.
func TestOverflowWhileSending(t *testing.T) {
	b := unlimited(1)
	b.add(podEvent("a", "Started", "x"), t0)
	e, sent, v, _ := b.next()
	b.add(podEvent("b", "Started", "x"), t0)
	b.sentOK(e, sent, v)
	if got := strings.Join(names(b), ","); got != "b" {
		t.Fatalf("waiting %q, want b", got)
	}
	if b.failed(e, 1) {
		t.Fatal("a failure of a dropped event dropped another")
	}
}

func TestFailedDropsAfterMaxAttempts(t *testing.T) {
	b := unlimited(10)
	b.add(podEvent("a", "Started", "x"), t0)
	e, _, _, _ := b.next()
	for i := 1; i < maxAttempts; i++ {
		if b.failed(e, maxAttempts) {
			t.Fatalf("dropped after %d attempts", i)
		}
	}
	if !b.failed(e, maxAttempts) {
		t.Fatal("kept after maxAttempts")
	}
	if s := b.snapshot(); s.Waiting != 0 || s.Failed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCheckEvent(t *testing.T) {
	good := podEvent("web", "Started", "started")
	if err := checkEvent(&good); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*corev1.Event){
		"no kind":     func(e *corev1.Event) { e.InvolvedObject.Kind = "" },
		"no name":     func(e *corev1.Event) { e.InvolvedObject.Name = "" },
		"no reason":   func(e *corev1.Event) { e.Reason = "" },
		"bad type":    func(e *corev1.Event) { e.Type = "Info" },
		"type absent": func(e *corev1.Event) { e.Type = "" },
	}
	for what, change := range bad {
		ev := good
		change(&ev)
		if checkEvent(&ev) == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}
