package twinbench

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// resultFilter is where DeviceTwin answers twin/update.
const resultFilter = "$hw/events/device/+/+/twin/update/result"

// load is the shape of the measured traffic.
type load struct {
	// devices is how many devices the node has; clients divides it.
	devices int
	// clients is how many MQTT connections publish; client k owns the
	// devices whose index is k modulo clients, as a mapper owns its own.
	clients int
	// window is how many updates a client has in flight at most:
	// published, and no result received yet.
	window int
	// updates is how many twin/updates one iteration publishes, in turn
	// over the devices.
	updates int
}

func (l load) check() error {
	if l.devices < 1 || l.clients < 1 || l.window < 1 || l.updates < 1 || l.devices%l.clients != 0 {
		return fmt.Errorf("load %+v: every count positive and clients dividing devices", l)
	}
	return nil
}

// driver publishes the load on an edge and counts its results.
type driver struct {
	l       load
	pubs    []paho.Client
	topics  []string // by device index
	current atomic.Pointer[round]
	// next is the event ID of the next round's first update; IDs never
	// repeat, and the temperature a update reports is its ID, so every
	// update changes its device's twin.
	next int64
}

// newDriver connects the publishers and the subscriber that counts
// results.
func newDriver(tb testing.TB, e *edge, l load) *driver {
	tb.Helper()
	if err := l.check(); err != nil {
		tb.Fatal(err)
	}
	d := &driver{l: l}
	for i := range l.devices {
		d.topics = append(d.topics, "$hw/events/device/"+namespace+"/"+deviceName(i)+"/twin/update")
	}
	sub := connect(tb, e.addr, "results")
	err := wait(sub.Subscribe(resultFilter, 1, func(_ paho.Client, m paho.Message) {
		if r := d.current.Load(); r != nil {
			r.result(m.Payload(), time.Now())
		}
	}))
	if err != nil {
		tb.Fatalf("subscribe %s: %v", resultFilter, err)
	}
	for k := range l.clients {
		d.pubs = append(d.pubs, connect(tb, e.addr, "mapper-"+strconv.Itoa(k)))
	}
	return d
}

// run publishes n updates and waits for every result; it returns the
// round, whose err says what went wrong.
func (d *driver) run(e *edge, n int) *round {
	r := newRound(d.next, n, d.l.clients, d.l.window)
	d.next += int64(n)
	d.current.Store(r)
	r.start = time.Now()
	var wg sync.WaitGroup
	for k, c := range d.pubs {
		wg.Go(func() {
			if err := d.publish(c, r, k); err != nil {
				r.fail(fmt.Errorf("client %d: %w", k, err))
			}
		})
	}
	timeout := time.NewTimer(loadTimeout)
	defer timeout.Stop()
	select {
	case <-r.done:
	case <-e.failed:
		r.fail(e.err)
	case <-timeout.C:
		r.fail(fmt.Errorf("%d of %d results after %v", r.received(), n, loadTimeout))
	}
	wg.Wait()
	d.current.Store(nil)
	return r
}

// publish sends client k's share of r: updates k, k+clients, ... each to
// device (update index mod devices), with at most window in flight. The
// PUBACKs of the last window publications are checked as it goes.
func (d *driver) publish(c paho.Client, r *round, k int) error {
	tokens := make([]paho.Token, d.l.window)
	sent := 0
	for i := k; i < len(r.sent); i += d.l.clients {
		slot := sent % d.l.window
		if tokens[slot] != nil {
			if err := wait(tokens[slot]); err != nil {
				return err
			}
		}
		select {
		case r.slots[k] <- struct{}{}:
		case <-r.done: // failed: stop publishing
			return nil
		}
		id := r.base + int64(i)
		payload := fmt.Appendf(nil,
			`{"event_id":"%d","timestamp":%d,"twin":{"temperature":{"actual":{"value":"%d.5"},"metadata":{"type":"float"}}}}`,
			id, time.Now().UnixMilli(), id)
		r.sent[i].Store(int64(time.Since(r.start)))
		tokens[slot] = c.Publish(d.topics[i%d.l.devices], 1, false, payload)
		sent++
	}
	for _, t := range tokens {
		if t != nil {
			if err := wait(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// lastValues is the temperature each device of the last round r (as run
// by d) was last given: its last update's ID, as published.
func (d *driver) lastValues(r *round) map[string]string {
	out := map[string]string{}
	for i := range len(r.sent) {
		out[deviceName(i%d.l.devices)] = strconv.FormatInt(r.base+int64(i), 10) + ".5"
	}
	return out
}

// round is one batch of updates: when each was published, and the
// results received.
type round struct {
	base  int64
	start time.Time
	// sent[i] is when update base+i was published, since start.
	sent []atomic.Int64
	// slots[k] holds a token for each update client k has in flight
	// (update i is client i mod len(slots)'s).
	slots []chan struct{}

	// mu guards the fields below; done is closed under it, once.
	mu        sync.Mutex
	seen      []bool
	latencies []time.Duration
	last      time.Time
	err       error
	closed    bool
	done      chan struct{}
}

func newRound(base int64, n, clients, window int) *round {
	r := &round{base: base, sent: make([]atomic.Int64, n), seen: make([]bool, n),
		latencies: make([]time.Duration, 0, n), done: make(chan struct{})}
	for range clients {
		r.slots = append(r.slots, make(chan struct{}, window))
	}
	return r
}

// result takes one twin/update result received at now. An error result,
// or one for no update of the round, fails the round.
func (r *round) result(payload []byte, now time.Time) {
	var res struct {
		EventID string `json:"event_id"`
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
	}
	if err := json.Unmarshal(payload, &res); err != nil {
		r.fail(fmt.Errorf("result %q: %w", payload, err))
		return
	}
	if res.Code != 0 {
		r.fail(fmt.Errorf("error result %d for update %s: %s", res.Code, res.EventID, res.Reason))
		return
	}
	id, err := strconv.ParseInt(res.EventID, 10, 64)
	i := id - r.base
	if err != nil || i < 0 || i >= int64(len(r.sent)) {
		r.fail(fmt.Errorf("result for update %q, not one of this round's", res.EventID))
		return
	}
	sent := time.Duration(r.sent[i].Load())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[i] { // a QoS 1 duplicate
		return
	}
	r.seen[i] = true
	<-r.slots[i%int64(len(r.slots))]
	r.latencies = append(r.latencies, now.Sub(r.start)-sent)
	if len(r.latencies) == len(r.seen) {
		r.last = now
		r.finishLocked(nil)
	}
}

func (r *round) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finishLocked(err)
}

// finishLocked ends the round with err (nil: every result arrived);
// only the first call counts.
func (r *round) finishLocked(err error) {
	if r.closed {
		return
	}
	r.closed, r.err = true, err
	close(r.done)
}

func (r *round) received() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.latencies)
}

// elapsed is the time from the first publication to the last result.
func (r *round) elapsed() time.Duration { return r.last.Sub(r.start) }

// connect connects an MQTT 3.1.1 client, clean session, no reconnect, and
// disconnects it when tb ends.
func connect(tb testing.TB, addr, id string) paho.Client {
	tb.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false)
	c := paho.NewClient(opts)
	if err := wait(c.Connect()); err != nil {
		tb.Fatalf("connect %s to %s: %v", id, addr, err)
	}
	tb.Cleanup(func() { c.Disconnect(100) })
	return c
}

// wait waits up to loadTimeout for t.
func wait(t paho.Token) error {
	if !t.WaitTimeout(loadTimeout) {
		return errTimeout
	}
	return t.Error()
}

// percentile is the p-th percentile (nearest rank) of ds; 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
