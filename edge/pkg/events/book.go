package events

import (
	"encoding/hex"
	"errors"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Component is the event source's component.
const Component = "edgecore"

// clusterNamespace holds the events of cluster-scoped objects.
const clusterNamespace = metav1.NamespaceDefault

// dropLogPeriod is the least time between two logs of dropped events.
const dropLogPeriod = time.Minute

// Stats counts what the recorder did with the events it was given.
type Stats struct {
	// Waiting is how many events wait to be sent.
	Waiting int
	// Sent were answered OpResponse by the cloud.
	Sent uint64
	// Aggregated were repeats folded into an event still waiting.
	Aggregated uint64
	// RateLimited found the token bucket empty; Overflowed were the oldest
	// of a full buffer. Both were dropped.
	RateLimited, Overflowed uint64
	// Rejected were refused for good ("forbidden...") or did not encode;
	// Failed failed maxAttempts sends. Both were dropped.
	Rejected, Failed uint64
}

// entry is one event waiting to be sent.
type entry struct {
	event corev1.Event
	// version grows with every repeat folded into event, so that the answer
	// to the send of an older count does not retire the newer one.
	version int
	// attempts counts the failed sends of this entry.
	attempts int
}

// sentCount is what is remembered of an event sent.
type sentCount struct {
	count int32
	first metav1.Time
}

// book is the recorder's pure core: it names and aggregates the events it is
// given, bounds and rate-limits those waiting, and remembers the counts of
// recently sent ones. It is not safe for concurrent use.
type book struct {
	node    string
	buffer  int
	limiter *rate.Limiter
	// waiting holds the events to send, oldest first; byName indexes it.
	waiting []*entry
	byName  map[string]*entry
	// sent remembers the last buffer events sent; sentRing holds their
	// names in the order they were first remembered, to forget the oldest.
	sent     map[string]sentCount
	sentRing []string
	sentNext int
	stats    Stats
	// logged is what the last drop report said, at loggedAt.
	logged   Stats
	loggedAt time.Time
}

func newBook(node string, qps float64, burst, buffer int) *book {
	return &book{
		node:     node,
		buffer:   buffer,
		limiter:  rate.NewLimiter(rate.Limit(qps), burst),
		byName:   map[string]*entry{},
		sent:     map[string]sentCount{},
		sentRing: make([]string, buffer),
	}
}

// outcome is what add did with an event.
type outcome int

const (
	added outcome = iota
	aggregated
	rateLimited
)

// add records ev at now. When the buffer is full the oldest event is
// dropped to make room (counted in Stats.Overflowed).
func (b *book) add(ev corev1.Event, now time.Time) outcome {
	complete(&ev, b.node)
	at := metav1.NewTime(now)
	if e, ok := b.byName[ev.Name]; ok {
		e.event.Count++
		e.event.LastTimestamp = at
		e.version++
		b.stats.Aggregated++
		return aggregated
	}
	if !b.limiter.AllowN(now, 1) {
		b.stats.RateLimited++
		return rateLimited
	}
	ev.Count, ev.FirstTimestamp, ev.LastTimestamp = 1, at, at
	if s, ok := b.sent[ev.Name]; ok {
		ev.Count, ev.FirstTimestamp = s.count+1, s.first
	}
	if len(b.waiting) >= b.buffer {
		b.remove(b.waiting[0])
		b.stats.Overflowed++
	}
	e := &entry{event: ev}
	b.waiting = append(b.waiting, e)
	b.byName[ev.Name] = e
	return added
}

// next returns the oldest waiting entry, a copy of its event and its version.
func (b *book) next() (e *entry, ev corev1.Event, version int, ok bool) {
	if len(b.waiting) == 0 {
		return nil, corev1.Event{}, 0, false
	}
	e = b.waiting[0]
	return e, e.event, e.version, true
}

// sentOK settles e, whose event ev at version the cloud accepted: it leaves
// the buffer unless a repeat came in meanwhile.
func (b *book) sentOK(e *entry, ev corev1.Event, version int) {
	b.stats.Sent++
	b.remember(ev)
	if b.byName[ev.Name] == e && e.version == version {
		b.remove(e)
	}
}

// rejected drops e, which the cloud refused for good.
func (b *book) rejected(e *entry) {
	b.stats.Rejected++
	b.remove(e)
}

// failed counts a failed send of e and drops it after maxAttempts; dropped
// says it did.
func (b *book) failed(e *entry, maxAttempts int) (dropped bool) {
	e.attempts++
	if e.attempts < maxAttempts || b.byName[e.event.Name] != e {
		return false
	}
	b.stats.Failed++
	b.remove(e)
	return true
}

// remove takes e out of the buffer, if it is still there.
func (b *book) remove(e *entry) {
	if b.byName[e.event.Name] != e {
		return
	}
	delete(b.byName, e.event.Name)
	if i := slices.Index(b.waiting, e); i >= 0 {
		b.waiting = slices.Delete(b.waiting, i, i+1)
	}
}

// remember keeps ev's count and first timestamp; once buffer events are
// remembered, the one remembered first is forgotten.
func (b *book) remember(ev corev1.Event) {
	if _, ok := b.sent[ev.Name]; !ok {
		if old := b.sentRing[b.sentNext]; old != "" {
			delete(b.sent, old)
		}
		b.sentRing[b.sentNext] = ev.Name
		b.sentNext = (b.sentNext + 1) % len(b.sentRing)
	}
	b.sent[ev.Name] = sentCount{count: ev.Count, first: ev.FirstTimestamp}
}

// dropReport returns how many events were dropped since the last report,
// at most once per dropLogPeriod; ok is false when there is nothing to say.
func (b *book) dropReport(now time.Time) (limited, overflowed uint64, ok bool) {
	limited = b.stats.RateLimited - b.logged.RateLimited
	overflowed = b.stats.Overflowed - b.logged.Overflowed
	if limited+overflowed == 0 || (!b.loggedAt.IsZero() && now.Sub(b.loggedAt) < dropLogPeriod) {
		return 0, 0, false
	}
	b.logged, b.loggedAt = b.stats, now
	return limited, overflowed, true
}

// snapshot returns the counters.
func (b *book) snapshot() Stats {
	s := b.stats
	s.Waiting = len(b.waiting)
	return s
}

// complete fills in what the recorder owns of ev: name, namespace, source.
func complete(ev *corev1.Event, node string) {
	ev.Name = eventName(ev)
	ev.Namespace = ev.InvolvedObject.Namespace
	if ev.Namespace == "" {
		ev.Namespace = clusterNamespace
	}
	ev.Source = corev1.EventSource{Component: Component, Host: node}
	ev.ReportingController = Component
	ev.ReportingInstance = node
}

// nameSuffixLen is "." and 16 hex digits.
const nameSuffixLen = 17

// eventName is <involvedObject.name>.<16 hex digits of a hash of what makes
// the event the same>, a valid object name however long the object's is.
func eventName(ev *corev1.Event) string {
	h := fnv.New64a()
	o := ev.InvolvedObject
	for _, s := range []string{o.Kind, o.Name, string(o.UID), ev.Type, ev.Reason, ev.Message} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	prefix := o.Name
	if max := validation.DNS1123SubdomainMaxLength - nameSuffixLen; len(prefix) > max {
		prefix = strings.TrimRight(prefix[:max], ".-")
	}
	return prefix + "." + hex.EncodeToString(h.Sum(nil))
}

// checkEvent reports what makes ev unusable.
func checkEvent(ev *corev1.Event) error {
	var errs []error
	if ev.InvolvedObject.Kind == "" || ev.InvolvedObject.Name == "" {
		errs = append(errs, errors.New("involvedObject kind and name are required"))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, errors.New("type must be Normal or Warning"))
	}
	if ev.Reason == "" {
		errs = append(errs, errors.New("reason is required"))
	}
	return errors.Join(errs...)
}
