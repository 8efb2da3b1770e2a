package integration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tether-edge/tether/cloud/pkg/cloudhub"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
	"github.com/tether-edge/tether/common/tunnel"
	"github.com/tether-edge/tether/edge/pkg/edgehub"
	"github.com/tether-edge/tether/tests/testenv"
	tt "github.com/tether-edge/tether/tests/tunneltest"
)

var transports = []string{tunnel.TransportWebSocket, tunnel.TransportQUIC}

func addrFor(c *tt.Cloud, transport string) string {
	if transport == tunnel.TransportQUIC {
		return c.QUICAddr
	}
	return c.WebSocketAddr
}

// desired is a test's model of one node's desired set.
type desired map[message.Resource]objsync.Version

// set puts an object in the model and in the cloud.
func (d desired) set(t *testing.T, c *tt.Cloud, node, name, uid, rv string) {
	k := tt.Key(name)
	d[k] = objsync.Version{UID: uid, ResourceVersion: rv}
	c.Set(t, node, k, uid, rv, tt.Object(uid, 64))
}

func (d desired) delete(t *testing.T, c *tt.Cloud, node, name string) {
	delete(d, tt.Key(name))
	c.Delete(t, node, tt.Key(name))
}

// holds reports how the store differs from d, or nil when it is exactly d.
func (d desired) heldBy(s *tt.MemStore) error {
	entries, _ := s.Manifest(context.Background())
	got := make(desired, len(entries))
	for _, e := range entries {
		got[e.Key] = e.Version
	}
	if maps.Equal(got, d) {
		return nil
	}
	var diff []string
	for k, v := range d {
		if g, ok := got[k]; !ok || g != v {
			diff = append(diff, fmt.Sprintf("%s: want %v, have %v", k.Name, v, g))
		}
	}
	for k, v := range got {
		if _, ok := d[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s: resurrected/stale %v", k.Name, v))
		}
	}
	if len(diff) > 5 {
		diff = append(diff[:5], fmt.Sprintf("... %d more", len(diff)-5))
	}
	return fmt.Errorf("store differs: %s", strings.Join(diff, "; "))
}

func TestTunnelSyncsObjectsStatusesAndRequests(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			p := tt.NewPKI(t)
			cloud := tt.StartCloud(t, p, tt.CloudOptions{})
			want := desired{}
			for i := range 50 {
				want.set(t, cloud, "edge-1", fmt.Sprintf("cm-%d", i), fmt.Sprintf("uid-%d", i), "1")
			}
			cloud.Set(t, "edge-2", tt.Key("other-node"), "x", "1", tt.Object("x", 8)) // never reaches edge-1
			edge := tt.StartEdge(t, p, tt.EdgeOptions{Cert: p.NodeCert(t, "edge-1"), Transport: transport, Address: addrFor(cloud, transport)})

			testenv.WaitFor(t, 10*time.Second, "edge holds the desired set", func() error { return want.heldBy(edge.Store) })
			<-edge.Probe.Synced()

			// Changes while connected: an update, a delete, a re-creation with a new uid.
			want.set(t, cloud, "edge-1", "cm-1", "uid-1", "2")
			want.delete(t, cloud, "edge-1", "cm-2")
			want.set(t, cloud, "edge-1", "cm-3", "uid-3b", "3")
			testenv.WaitFor(t, 10*time.Second, "edge follows changes", func() error { return want.heldBy(edge.Store) })

			// A status goes up in cloud form, with the node from the certificate.
			edge.Status(t, message.Resource{Namespace: "default", Type: "podstatus", Name: "web"}, []byte(`{"phase":"Running"}`))
			testenv.WaitFor(t, 10*time.Second, "status delivered", func() error {
				for _, m := range cloud.Source.Received() {
					if m.Route.Resource.Node == "edge-1" && m.Route.Resource.Name == "web" && string(m.Content) == `{"phase":"Running"}` {
						return nil
					}
				}
				return fmt.Errorf("received %d messages, none the status", len(cloud.Source.Received()))
			})

			// Requests both ways.
			ctx := context.Background()
			req := message.New(tt.ProbeName, tt.SourceName, message.OpQuery, tt.Key("q"), []byte("ping"))
			resp, err := edge.Bus.SendSync(ctx, upTo(req, tt.SourceName), 5*time.Second)
			if err != nil || string(resp.Content) != "pong:ping" {
				t.Fatalf("edge→cloud request: %q, %v", resp.Content, err)
			}
			down := message.New(tt.SourceName, cloudhub.Name, message.OpQuery, tt.Key("q").OnNode("edge-1"), []byte("hello"))
			down.Route.Group = tt.ProbeName
			resp, err = cloud.Bus.SendSync(ctx, down, 5*time.Second)
			if err != nil || string(resp.Content) != "edge:hello" {
				t.Fatalf("cloud→edge request: %q (%s), %v", resp.Content, resp.Route.Operation, err)
			}
			lost := message.New(tt.SourceName, cloudhub.Name, message.OpQuery, tt.Key("q").OnNode("edge-9"), nil)
			resp, err = cloud.Bus.SendSync(ctx, lost, 5*time.Second)
			if err != nil || resp.Route.Operation != message.OpError || !strings.Contains(string(resp.Content), "not connected") {
				t.Fatalf("request to an absent node: %s %q, %v", resp.Route.Operation, resp.Content, err)
			}
		})
	}
}

// upTo addresses an edge request to a cloud module: it goes to edgehub on
// the edge bus and names its cloud destination in Route.Group.
func upTo(m message.Message, cloudModule string) message.Message {
	m.Route.Destination = edgehub.Name
	m.Route.Group = cloudModule
	return m
}

func TestTunnelIdentityIsTheCertificate(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			p := tt.NewPKI(t)
			cloud := tt.StartCloud(t, p, tt.CloudOptions{})
			cloud.Set(t, "node-b", tt.Key("b-secret"), "ub", "1", tt.Object("ub", 8))
			cloud.Set(t, "node-a", tt.Key("a-own"), "ua", "1", tt.Object("ua", 8))
			// An edge holding node A's certificate gets A's set, never B's,
			// and what it sends up is A's, whatever it claims.
			edge := tt.StartEdge(t, p, tt.EdgeOptions{Cert: p.NodeCert(t, "node-a"), Transport: transport, Address: addrFor(cloud, transport)})
			want := desired{tt.Key("a-own"): {UID: "ua", ResourceVersion: "1"}}
			testenv.WaitFor(t, 10*time.Second, "node A's set", func() error { return want.heldBy(edge.Store) })
			claim := message.Resource{Node: "node-b", Namespace: "default", Type: "podstatus", Name: "x"}
			edge.Status(t, claim, []byte("forged"))
			testenv.WaitFor(t, 10*time.Second, "status arrives as node A's", func() error {
				for _, m := range cloud.Source.Received() {
					if string(m.Content) == "forged" {
						if m.Route.Resource.Node != "node-a" {
							t.Fatalf("status arrived for node %q", m.Route.Resource.Node)
						}
						return nil
					}
				}
				return errors.New("not yet")
			})

			// A certificate from another CA is refused at the handshake, and
			// a CA-signed certificate that is not a node's is refused too.
			other := tt.NewPKI(t)
			c, err := dial(transport, addrFor(cloud, transport), tt.StaticCerts{Cert: other.NodeCert(t, "node-a"), Roots: p.CA.Pool()})
			if err == nil { // TLS 1.3 over QUIC: the server's verdict arrives after the client's handshake
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Read()
				c.Close("test over")
			}
			if err == nil || isTimeout(err) {
				t.Fatalf("a certificate from another CA: %v, want the connection refused", err)
			}
			notANode := p.NonNodeCert(t)
			c, err = dial(transport, addrFor(cloud, transport), tt.StaticCerts{Cert: notANode, Roots: p.CA.Pool()})
			if err == nil {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Read()
			}
			if !errors.Is(err, tunnel.ErrRefused) {
				t.Fatalf("a non-node certificate: %v, want a refusal", err)
			}
		})
	}
}

// dial opens a raw tunnel connection with certs.
func dial(transport, addr string, certs tt.StaticCerts) (tunnel.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o := tunnel.DialOptions{TLS: certs.ClientTLS("127.0.0.1")}
	if transport == tunnel.TransportQUIC {
		return tunnel.DialQUIC(ctx, addr, o)
	}
	return tunnel.DialWebSocket(ctx, addr, o)
}

// rawSession dials as node and sends an empty manifest.
func rawSession(t *testing.T, p *tt.PKI, transport, addr, node string) tunnel.Conn {
	t.Helper()
	c, err := dial(transport, addr, tt.StaticCerts{Cert: p.NodeCert(t, node), Roots: p.CA.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close("test over") })
	first, _ := tunnel.Manifest("test", nil)
	if err := c.Write([]message.Message{first}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTunnelSessionReplacementAndNodeLimit(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			p := tt.NewPKI(t)
			cloud := tt.StartCloud(t, p, tt.CloudOptions{NodeLimit: 1})
			cloud.Set(t, "edge-1", tt.Key("cm"), "u", "1", tt.Object("u", 8))
			addr := addrFor(cloud, transport)

			first := rawSession(t, p, transport, addr, "edge-1")
			if m := readUntil(t, first, message.OpInsert); m.Route.Resource.Name != "cm" {
				t.Fatalf("first session got %+v", m)
			}
			// The same node again: the first session is closed, the second synced.
			second := rawSession(t, p, transport, addr, "edge-1")
			if m := readUntil(t, second, message.OpInsert); m.Route.Resource.Name != "cm" {
				t.Fatalf("second session got %+v", m)
			}
			first.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				_, err := first.Read()
				if err != nil {
					if isTimeout(err) {
						t.Fatal("the replaced session stayed open")
					}
					break
				}
			}
			// The limit is one node: another node is refused as unavailable.
			c, err := dial(transport, addr, tt.StaticCerts{Cert: p.NodeCert(t, "edge-2"), Roots: p.CA.Pool()})
			if err == nil {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Read()
			}
			if !errors.Is(err, tunnel.ErrRefused) || !strings.Contains(err.Error(), "node limit") {
				t.Fatalf("a node over the limit: %v, want a refusal naming the node limit", err)
			}
		})
	}
}

// readUntil reads c until a message with op arrives (keepalives and markers
// skipped), failing after 5s.
func readUntil(t *testing.T, c tunnel.Conn, op message.Operation) message.Message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		m, err := c.Read()
		if err != nil {
			t.Fatalf("waiting for %s: %v", op, err)
		}
		if m.Route.Operation == op {
			return m
		}
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// fill puts n objects of 1 KiB in node's desired set.
func fill(t *testing.T, c *tt.Cloud, node string, want desired, n int) {
	for i := range n {
		uid := fmt.Sprintf("uid-%d", i)
		k := tt.Key(fmt.Sprintf("cm-%d", i))
		want[k] = objsync.Version{UID: uid, ResourceVersion: "1"}
		c.Set(t, node, k, uid, "1", tt.Object(uid, 1024))
	}
}

// change edits the set the way a restarted cloud may find it: some deleted,
// some updated, some recreated, some new.
func change(t *testing.T, c *tt.Cloud, node string, want desired, n int) {
	for i := 0; i < n; i += 7 {
		want.delete(t, c, node, fmt.Sprintf("cm-%d", i))
	}
	for i := 1; i < n; i += 7 {
		want.set(t, c, node, fmt.Sprintf("cm-%d", i), fmt.Sprintf("uid-%d", i), "2")
	}
	for i := 2; i < n; i += 7 {
		want.set(t, c, node, fmt.Sprintf("cm-%d", i), fmt.Sprintf("uid-%d-again", i), "3")
	}
	for i := n; i < n+50; i++ {
		want.set(t, c, node, fmt.Sprintf("cm-%d", i), fmt.Sprintf("uid-%d", i), "1")
	}
}

// waitMidSync waits until the store holds some, not all, of total objects.
func waitMidSync(t *testing.T, s *tt.MemStore, total int) {
	testenv.WaitFor(t, 10*time.Second, "sync under way", func() error {
		if s.Len() < 100 {
			return fmt.Errorf("%d objects", s.Len())
		}
		return nil
	})
	if n := s.Len(); n >= total {
		t.Fatalf("sync finished (%d objects) before the restart", n)
	}
}

func TestTunnelCloudRestartMidSync(t *testing.T) {
	const total = 3000
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			p := tt.NewPKI(t)
			// A window of one makes the first sync slow enough to interrupt.
			cloud := tt.StartCloud(t, p, tt.CloudOptions{SyncWindow: 1})
			fill(t, cloud, "edge-1", desired{}, total)
			edge := tt.StartEdge(t, p, tt.EdgeOptions{Cert: p.NodeCert(t, "edge-1"), Transport: transport, Address: addrFor(cloud, transport)})
			waitMidSync(t, edge.Store, total)
			cloud.Stop()

			// The new cloudcore rebuilds the desired set from its informers,
			// which have changed meanwhile; it knows nothing of the old one.
			cloud = tt.StartCloud(t, p, tt.CloudOptions{WebSocketAddress: cloud.WebSocketAddr, QUICAddress: cloud.QUICAddr})
			want := desired{}
			fill(t, cloud, "edge-1", want, total)
			change(t, cloud, "edge-1", want, total)
			testenv.WaitFor(t, 30*time.Second, "edge converges on the new cloud's set", func() error { return want.heldBy(edge.Store) })
		})
	}
}

func TestTunnelEdgeRestartMidSync(t *testing.T) {
	const total = 3000
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			p := tt.NewPKI(t)
			cloud := tt.StartCloud(t, p, tt.CloudOptions{SyncWindow: 1})
			want := desired{}
			fill(t, cloud, "edge-1", want, total)
			cert := p.NodeCert(t, "edge-1")
			edge := tt.StartEdge(t, p, tt.EdgeOptions{Cert: cert, Transport: transport, Address: addrFor(cloud, transport)})
			waitMidSync(t, edge.Store, total)
			edge.Stop()
			change(t, cloud, "edge-1", want, total)

			// The restarted edgecore starts from what it had stored.
			edge = tt.StartEdge(t, p, tt.EdgeOptions{Cert: cert, Transport: transport, Address: addrFor(cloud, transport), Store: edge.Store})
			testenv.WaitFor(t, 30*time.Second, "edge converges after its restart", func() error { return want.heldBy(edge.Store) })
		})
	}
}

// proxied puts a fault-injecting proxy between edge and cloud; freeze
// black-holes it (a peer that stops reading and writing).
func proxied(t *testing.T, c *tt.Cloud, transport string) (addr string, freeze, thaw func()) {
	if transport == tunnel.TransportQUIC {
		p := testenv.StartUDPProxy(t, c.QUICAddr, testenv.ProxyOptions{})
		return p.Addr(), p.Freeze, p.Thaw
	}
	p := testenv.StartTCPProxy(t, c.WebSocketAddr, testenv.ProxyOptions{})
	return p.Addr(), p.Freeze, p.Thaw
}

func connected(h *cloudhub.Hub, node string) bool {
	for _, n := range h.Connected() {
		if n == node {
			return true
		}
	}
	return false
}

// A peer that goes silent (it stops reading and writing, the connection
// stays open) is found by both ends within twice the keepalive period, and
// the edge resyncs once the path is back.
func TestTunnelHalfOpenDetection(t *testing.T) {
	const keepalive = 300 * time.Millisecond
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			p := tt.NewPKI(t)
			cloud := tt.StartCloud(t, p, tt.CloudOptions{KeepalivePeriod: keepalive})
			addr, freeze, thaw := proxied(t, cloud, transport)
			want := desired{}
			want.set(t, cloud, "edge-1", "a", "ua", "1")
			edge := tt.StartEdge(t, p, tt.EdgeOptions{Cert: p.NodeCert(t, "edge-1"), Transport: transport, Address: addr, KeepalivePeriod: keepalive})
			testenv.WaitFor(t, 10*time.Second, "first sync", func() error { return want.heldBy(edge.Store) })

			freeze()
			frozen := time.Now()
			testenv.WaitFor(t, 4*keepalive+2*time.Second, "both ends drop the silent session", func() error {
				if connected(cloud.Hub, "edge-1") || edge.Hub.Connected() {
					return fmt.Errorf("cloud connected %v, edge connected %v", connected(cloud.Hub, "edge-1"), edge.Hub.Connected())
				}
				return nil
			})
			t.Logf("%s: silent peer dropped after %s (keepalive %s)", transport, time.Since(frozen).Round(10*time.Millisecond), keepalive)

			want.set(t, cloud, "edge-1", "b", "ub", "1") // changed while cut off
			thaw()
			testenv.WaitFor(t, 15*time.Second, "resync after the path returns", func() error { return want.heldBy(edge.Store) })
		})
	}
}

// Randomised end to end: many rounds of desired-set changes, statuses and
// broken connections (cut by the proxy over WebSocket; edge restarts over
// QUIC) still leave the edge holding exactly the desired set and the cloud
// the latest status of every key.
func TestTunnelConvergesUnderRandomFaults(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 1))
			p := tt.NewPKI(t)
			cloud := tt.StartCloud(t, p, tt.CloudOptions{SyncWindow: 4})
			cert := p.NodeCert(t, "edge-1")
			addr, cut := cloud.WebSocketAddr, func() {}
			if transport == tunnel.TransportWebSocket {
				proxy := testenv.StartTCPProxy(t, cloud.WebSocketAddr, testenv.ProxyOptions{})
				addr, cut = proxy.Addr(), proxy.CutAll
			} else {
				addr = cloud.QUICAddr
			}
			edge := tt.StartEdge(t, p, tt.EdgeOptions{Cert: cert, Transport: transport, Address: addr})
			want := desired{}
			lastStatus := map[string]string{}
			for round := range 40 {
				for range rng.IntN(30) {
					name := fmt.Sprintf("cm-%d", rng.IntN(25))
					if _, ok := want[tt.Key(name)]; ok && rng.IntN(3) == 0 {
						want.delete(t, cloud, "edge-1", name)
					} else {
						want.set(t, cloud, "edge-1", name, fmt.Sprintf("u-%s-%d", name, rng.IntN(2)), fmt.Sprint(round))
					}
				}
				for range rng.IntN(5) {
					name := fmt.Sprintf("pod-%d", rng.IntN(5))
					value := fmt.Sprintf("round-%d", round)
					lastStatus[name] = value
					edge.Status(t, message.Resource{Namespace: "default", Type: "podstatus", Name: name}, []byte(value))
				}
				switch {
				case rng.IntN(3) == 0 && transport == tunnel.TransportWebSocket:
					cut()
				case rng.IntN(6) == 0 && transport == tunnel.TransportQUIC:
					edge.Stop()
					edge = tt.StartEdge(t, p, tt.EdgeOptions{Cert: cert, Transport: transport, Address: addr, Store: edge.Store})
					lastStatus = map[string]string{} // statuses of a stopped edgecore live on in MetaManager, not here
				}
			}
			testenv.WaitFor(t, 30*time.Second, "convergence", func() error { return want.heldBy(edge.Store) })
			testenv.WaitFor(t, 30*time.Second, "latest statuses", func() error {
				latest := map[string]string{}
				for _, m := range cloud.Source.Received() {
					latest[m.Route.Resource.Name] = string(m.Content)
				}
				for name, v := range lastStatus {
					if latest[name] != v {
						return fmt.Errorf("%s: cloud has %q, edge last sent %q", name, latest[name], v)
					}
				}
				return nil
			})
		})
	}
}

// A node can only answer requests sent to it: a response forged by another
// node for a request it never saw is dropped.
func TestTunnelResponsesOnlyFromTheAskedNode(t *testing.T) {
	p := tt.NewPKI(t)
	cloud := tt.StartCloud(t, p, tt.CloudOptions{})
	a := rawSession(t, p, tunnel.TransportWebSocket, cloud.WebSocketAddr, "node-a")
	b := rawSession(t, p, tunnel.TransportWebSocket, cloud.WebSocketAddr, "node-b")
	readUntil(t, a, objsync.OpSynced)
	readUntil(t, b, objsync.OpSynced)

	answer := make(chan message.Message, 1)
	go func() {
		req := message.New(tt.SourceName, cloudhub.Name, message.OpQuery, tt.Key("q").OnNode("node-b"), nil)
		resp, err := cloud.Bus.SendSync(context.Background(), req, 10*time.Second)
		if err != nil {
			resp.Content = []byte(err.Error())
		}
		answer <- resp
	}()
	req := readUntil(t, b, message.OpQuery)
	forged := req.Response("probe", message.OpResponse, []byte("forged"))
	// A status after the forgery: once it is delivered, so was the forgery
	// (a session's messages are handled in order).
	marker := message.New("probe", "", message.OpUpdate, tt.Key("marker"), []byte("after-forgery"))
	marker.Route.Group, marker.Header.Seq = tt.SourceName, 1
	if err := a.Write([]message.Message{forged, marker}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "node-a's messages handled", func() error {
		for _, m := range cloud.Source.Received() {
			if string(m.Content) == "after-forgery" {
				return nil
			}
		}
		return errors.New("not yet")
	})
	select {
	case got := <-answer:
		t.Fatalf("the cloud module got %q before node-b answered", got.Content)
	default:
	}
	genuine := req.Response("probe", message.OpResponse, []byte("genuine"))
	if err := b.Write([]message.Message{genuine}); err != nil {
		t.Fatal(err)
	}
	if got := <-answer; string(got.Content) != "genuine" {
		t.Fatalf("the cloud module got %q, want node-b's answer", got.Content)
	}
}
