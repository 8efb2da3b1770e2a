package simulator

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
	"github.com/tether-edge/tether/tests/testenv"
	tt "github.com/tether-edge/tether/tests/tunneltest"
)

func syncMsg(op message.Operation, seq uint64) message.Message {
	m := message.New("cloudhub", "", op, tt.Key("cm"), nil)
	m.Header.Seq = seq
	return m
}

func TestSessionAcksCumulativelyAndNotesTheMarker(t *testing.T) {
	markers := 0
	s := newSession(func() { markers++ })
	ctx := context.Background()
	if got := s.Pull(nil, 8); len(got) != 0 {
		t.Fatalf("nothing received, but Pull gave %v", got)
	}
	for i, m := range []message.Message{
		syncMsg(message.OpInsert, 1),
		tunnel.Keepalive("cloudhub"), // not sequenced: ignored
		syncMsg(message.OpUpdate, 2),
		syncMsg(message.OpUpdate, 1), // a duplicate: acknowledged again
		syncMsg(objsync.OpSynced, 3),
	} {
		if err := s.receive(ctx, m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	select {
	case <-s.Ready():
	default:
		t.Fatal("the writer was not woken")
	}
	got := s.Pull(nil, 8)
	if len(got) != 1 || tunnel.Classify(got[0]) != tunnel.KindAck || got[0].Header.Seq != 3 {
		t.Fatalf("Pull = %v, want one ack of 3", got)
	}
	if got := s.Pull(nil, 8); len(got) != 0 {
		t.Fatalf("the ack was sent, but Pull gave %v", got)
	}
	if !s.synced() || markers != 1 {
		t.Fatalf("synced %v after %d markers, want true after 1", s.synced(), markers)
	}
	if err := s.receive(ctx, syncMsg(message.OpInsert, 5)); !errors.Is(err, objsync.ErrProtocol) {
		t.Fatalf("a gap gave %v, want ErrProtocol", err)
	}
}

// The simulated nodes connect to a real cloudhub, acknowledge what it
// syncs to them, and come back after the hub restarts on the same address.
func TestNodesSyncAndReconnect(t *testing.T) {
	const n = 20
	p := tt.NewPKI(t)
	cloud := tt.StartCloud(t, p, tt.CloudOptions{})
	for i := range 3 {
		name := fmt.Sprintf("obj-%d", i)
		cloud.Set(t, NodeName("sim", 0), tt.Key(name), name, "1", tt.Object(name, 64))
	}
	certs, err := IssueCerts(p.CA, "sim", n)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := Start(Options{
		Address: cloud.WebSocketAddr, Roots: p.CA.Pool(), Certs: certs,
		DialConcurrency: 4, ReconnectInitial: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
		KeepalivePeriod: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	waitStats(t, sim, "every node synced", func(s Stats) bool { return s.Synced == n })
	testenv.WaitFor(t, 10*time.Second, "the hub sees every node in sync", func() error {
		for i := range n {
			if !cloud.Hub.InSync(NodeName("sim", i)) {
				return fmt.Errorf("%s is not in sync", NodeName("sim", i))
			}
		}
		return nil
	})

	addr := cloud.WebSocketAddr
	cloud.Stop()
	waitStats(t, sim, "every session ended", func(s Stats) bool { return s.Connected == 0 && s.Synced == 0 })
	tt.StartCloud(t, p, tt.CloudOptions{WebSocketAddress: addr})
	waitStats(t, sim, "every node synced again", func(s Stats) bool { return s.Synced == n && s.Sessions >= 2*n })

	sim.Stop()
	if s := sim.Stats(); s.Connected != 0 || s.Synced != 0 {
		t.Fatalf("after Stop: %v", s)
	}
}

func waitStats(t *testing.T, sim *Simulator, what string, cond func(Stats) bool) {
	t.Helper()
	testenv.WaitFor(t, 20*time.Second, what, func() error {
		if s := sim.Stats(); !cond(s) {
			return errors.New(s.String())
		}
		return nil
	})
}

func TestOptionsAreValidated(t *testing.T) {
	if _, err := Start(Options{}); err == nil {
		t.Fatal("Start accepted empty options")
	}
}
