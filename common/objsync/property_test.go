package objsync

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tether-edge/tether/common/message"
)

// The property: whatever mix of disconnects, duplicated, reordered and stale
// messages the network produces, once it heals and a session runs to
// quiescence the edge holds exactly the cloud's desired set (nothing lost,
// nothing resurrected), the cloud has the edge's latest status for every
// key, and no status ever replaced a newer one.
func TestPropertyConvergence(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		w := newWorld(seed)
		for range 1500 {
			w.step()
		}
		w.heal()
		if err := w.check(); err != nil {
			t.Fatalf("seed %d: %v\nlast events: %v", seed, err, w.log.tail())
		}
	}
}

// packet is a message in flight, tagged with the session that sent it.
type packet struct {
	session int
	m       message.Message
}

type world struct {
	rng     *rand.Rand
	session int // the live session; 0 = disconnected
	nextSes int
	clock   int64
	log     ring

	// cloud
	out      *Outbound
	statusIn Inbound
	filter   *StatusFilter
	want     map[message.Resource]Version // the model's desired set
	uidSeq   int
	rv       int
	got      map[message.Resource][]int64 // statuses delivered to cloud modules, in order

	// edge
	store    map[message.Resource]Version
	syncIn   Inbound
	statuses *StatusQueue
	made     map[message.Resource]int64 // newest status version made per key

	down, up []packet // cloud→edge, edge→cloud
}

func newWorld(seed uint64) *world {
	return &world{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		out:      NewOutbound("cloudhub", 1+int(seed%7)),
		filter:   NewStatusFilter(0),
		want:     map[message.Resource]Version{},
		got:      map[message.Resource][]int64{},
		store:    map[message.Resource]Version{},
		statuses: NewStatusQueue(1 + int(seed%5)),
		made:     map[message.Resource]int64{},
	}
}

func key(i int) message.Resource {
	return message.Resource{Namespace: "default", Type: "configmap", Name: fmt.Sprintf("cm-%d", i)}
}

func (w *world) step() {
	switch r := w.rng.IntN(100); {
	case r < 20:
		w.changeDesired()
	case r < 30:
		w.makeStatus()
	case r < 60:
		w.deliverDown(w.rng.IntN(4) == 0)
	case r < 80:
		w.deliverUp(w.rng.IntN(4) == 0)
	case r < 85:
		w.duplicate()
	case r < 90:
		w.reorder()
	case r < 94:
		w.disconnect("fault")
	case r < 99:
		if w.session == 0 {
			w.connect()
		}
	default:
		w.disconnect("fault")
		w.connect()
	}
	w.pump()
}

func (w *world) changeDesired() {
	k := key(w.rng.IntN(12))
	if _, ok := w.want[k]; ok && w.rng.IntN(3) == 0 {
		delete(w.want, k)
		w.out.Delete(k)
		w.log.add("delete %s", k.Name)
		return
	}
	v, ok := w.want[k]
	if !ok || w.rng.IntN(5) == 0 { // created, or deleted and created again at once
		w.uidSeq++
		v.UID = fmt.Sprintf("uid-%d", w.uidSeq)
	}
	w.rv++
	v.ResourceVersion = fmt.Sprint(w.rv)
	w.want[k] = v
	w.out.Set(Object{Key: k, Version: v, Content: fmt.Appendf(nil, `{"metadata":{"uid":%q}}`, v.UID)})
	w.log.add("set %s %v", k.Name, v)
}

func (w *world) makeStatus() {
	k := key(w.rng.IntN(6))
	w.clock += int64(w.rng.IntN(3)) // sometimes two statuses in one millisecond
	m := message.Message{Route: message.Route{Operation: message.OpUpdate, Resource: k}}
	m.Header.Timestamp = w.clock
	if w.rng.IntN(10) == 0 {
		m.Header.Timestamp -= 5 // a late, stale status: must be dropped
	}
	if w.statuses.Put(m) {
		w.made[k] = max(w.made[k], m.Header.Timestamp)
	}
}

// pump moves whatever both senders have to send onto the network.
func (w *world) pump() {
	if w.session == 0 {
		return
	}
	for m, ok := w.out.Next(); ok; m, ok = w.out.Next() {
		w.down = append(w.down, packet{w.session, m})
	}
	for m, ok := w.statuses.Next(); ok; m, ok = w.statuses.Next() {
		w.up = append(w.up, packet{w.session, m})
	}
}

// take removes the first packet of q, or a random one to reorder.
func (w *world) take(q *[]packet, random bool) (packet, bool) {
	if len(*q) == 0 {
		return packet{}, false
	}
	i := 0
	if random {
		i = w.rng.IntN(len(*q))
	}
	p := (*q)[i]
	*q = append((*q)[:i], (*q)[i+1:]...)
	return p, true
}

func (w *world) deliverDown(random bool) {
	p, ok := w.take(&w.down, random)
	if !ok || p.session != w.session {
		return // the session it belonged to is gone; its connection is closed
	}
	if p.m.Route.Operation == OpAck {
		w.expectNoError("status ack", w.statuses.Ack(p.m.Header.Seq))
		return
	}
	fresh, err := w.syncIn.Check(p.m.Header.Seq)
	if w.expectNoError("edge sync", err) && fresh {
		w.apply(p.m)
	}
	if w.session != 0 {
		w.up = append(w.up, packet{w.session, ack(w.syncIn.Last())})
	}
}

func (w *world) apply(m message.Message) {
	switch m.Route.Operation {
	case message.OpInsert, message.OpUpdate:
		uid, err := UIDOf(m.Content)
		if err != nil {
			panic(err)
		}
		w.store[m.Route.Resource] = Version{UID: uid, ResourceVersion: m.Header.ResourceVersion}
	case message.OpDelete:
		delete(w.store, m.Route.Resource)
	}
	w.log.add("edge %s %s rv=%s", m.Route.Operation, m.Route.Resource.Name, m.Header.ResourceVersion)
}

func (w *world) deliverUp(random bool) {
	p, ok := w.take(&w.up, random)
	if !ok || p.session != w.session {
		return
	}
	if p.m.Route.Operation == OpAck {
		w.expectNoError("sync ack", w.out.Ack(p.m.Header.Seq))
		return
	}
	fresh, err := w.statusIn.Check(p.m.Header.Seq)
	if w.expectNoError("cloud status", err) && fresh && w.filter.Admit(p.m) {
		k := p.m.Route.Resource
		w.got[k] = append(w.got[k], p.m.Header.Timestamp)
	}
	if w.session != 0 {
		w.down = append(w.down, packet{w.session, ack(w.statusIn.Last())})
	}
}

// expectNoError ends the session on a protocol error, as the tunnel does.
func (w *world) expectNoError(where string, err error) bool {
	if err == nil {
		return true
	}
	if !errors.Is(err, ErrProtocol) {
		panic(err)
	}
	w.disconnect(where + ": " + err.Error())
	return false
}

func (w *world) duplicate() {
	for _, q := range []*[]packet{&w.down, &w.up} {
		if len(*q) > 0 {
			*q = append(*q, (*q)[w.rng.IntN(len(*q))])
		}
	}
}

func (w *world) reorder() {
	for _, q := range []*[]packet{&w.down, &w.up} {
		if n := len(*q); n > 1 {
			i := w.rng.IntN(n - 1)
			(*q)[i], (*q)[i+1] = (*q)[i+1], (*q)[i]
		}
	}
}

func (w *world) disconnect(why string) {
	if w.session == 0 {
		return
	}
	w.log.add("disconnect: %s", why)
	w.session = 0
	w.out.Disconnect()
	w.statuses.Disconnect()
}

func (w *world) connect() {
	w.nextSes++
	w.session = w.nextSes
	manifest := make([]Entry, 0, len(w.store))
	for k, v := range w.store {
		manifest = append(manifest, Entry{Key: k, Version: v})
	}
	w.log.add("connect %d with %d entries", w.session, len(manifest))
	w.syncIn.Reset()
	w.statusIn.Reset()
	w.out.Connect(manifest)
	w.statuses.Connect()
}

// heal reconnects and runs the session without faults until nothing moves.
func (w *world) heal() {
	w.disconnect("heal")
	w.connect()
	w.pump()
	for i := 0; len(w.down)+len(w.up) > 0; i++ {
		if i > 1_000_000 {
			panic("no quiescence")
		}
		w.deliverDown(false)
		w.deliverUp(false)
		w.pump()
	}
}

func (w *world) check() error {
	if !w.out.InSync() {
		return fmt.Errorf("outbound not in sync after healing: queued %d, in flight %d", w.out.Queued(), w.out.InFlight())
	}
	for k, v := range w.want {
		if got, ok := w.store[k]; !ok || got != v {
			return fmt.Errorf("edge holds %s as %v (present %v), want %v", k, got, ok, v)
		}
	}
	for k, v := range w.store {
		if _, ok := w.want[k]; !ok {
			return fmt.Errorf("edge still holds %s %v, which the cloud deleted", k, v)
		}
	}
	if n := w.statuses.Len(); n != 0 {
		return fmt.Errorf("%d statuses still unacknowledged", n)
	}
	for k, newest := range w.made {
		got := w.got[k]
		if len(got) == 0 || got[len(got)-1] != newest {
			return fmt.Errorf("status %s: cloud got versions %v, newest made %d", k.Name, got, newest)
		}
		for i := 1; i < len(got); i++ {
			if got[i] < got[i-1] {
				return fmt.Errorf("status %s: version %d delivered after %d", k.Name, got[i], got[i-1])
			}
		}
	}
	return nil
}

func ack(seq uint64) message.Message {
	return message.Message{Header: message.Header{Seq: seq}, Route: message.Route{Operation: OpAck}}
}

// ring keeps the last events, to explain a failure.
type ring struct {
	events []string
}

func (r *ring) add(format string, args ...any) {
	r.events = append(r.events, fmt.Sprintf(format, args...))
	if len(r.events) > 40 {
		r.events = r.events[1:]
	}
}

func (r *ring) tail() []string { return r.events }
