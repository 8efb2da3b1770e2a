package edged

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/beehive/beehivetest"
	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/edge/pkg/edged/staticpod"
)

// reportedUIDs are the pod uids of the statuses sent so far, in order.
func reportedUIDs(t *testing.T, bus *beehivetest.Bus) []types.UID {
	t.Helper()
	var out []types.UID
	for _, m := range bus.Sent() {
		var r kubemsg.PodStatusReport
		if err := json.Unmarshal(m.Content, &r); err != nil {
			t.Fatalf("status %s: %v", m.Route.Resource, err)
		}
		out = append(out, r.UID)
	}
	return out
}

func TestReporterSendsChangesOnly(t *testing.T) {
	bus := beehivetest.New()
	e := &Edged{opts: Options{Bus: bus, Store: "metamanager", Now: time.Now, RequestTimeout: time.Second},
		log: slog.New(slog.DiscardHandler), want: newDesired(), starts: newPodStarts(prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x"}))}
	r := newReporter(e)
	p := pod("web", "u1")
	p.Status.Phase = corev1.PodPending

	r.report(p, p.Status) // what the cloud already has
	if got := reportedUIDs(t, bus); len(got) != 0 {
		t.Fatalf("the cloud's own status was sent again: %v", got)
	}
	running := corev1.PodStatus{Phase: corev1.PodRunning}
	r.report(p, running)
	r.report(r.withLast(p), running)
	if got := reportedUIDs(t, bus); len(got) != 1 || got[0] != "u1" {
		t.Fatalf("statuses sent %v; want one, for u1", got)
	}

	// A static pod's status waits for its mirror pod, and follows a new one.
	s := pod("static-node", "s1")
	s.Annotations = map[string]string{staticpod.AnnotationSource: "file", staticpod.AnnotationHash: "s1"}
	e.want.setStatic([]*corev1.Pod{s})
	r.report(s, running)
	if got := reportedUIDs(t, bus); len(got) != 1 {
		t.Fatalf("a static pod's status went out with no mirror pod: %v", got)
	}
	for _, mirrorUID := range []types.UID{"m1", "m2"} {
		m := pod("static-node", mirrorUID)
		m.Annotations = map[string]string{staticpod.AnnotationMirror: "s1"}
		e.want.setPod(m)
		r.report(s, running)
		r.report(s, running)
		if got := reportedUIDs(t, bus); got[len(got)-1] != mirrorUID {
			t.Errorf("statuses %v; want the last for the mirror pod %s", got, mirrorUID)
		}
	}
	if got := reportedUIDs(t, bus); len(got) != 3 {
		t.Errorf("statuses sent %v; want one per mirror pod, not repeats", got)
	}
}
