package tunnelbench

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/tunnel"
	"github.com/tether-edge/tether/tests/testenv"
	tt "github.com/tether-edge/tether/tests/tunneltest"
)

const (
	// objectSize is each object's JSON size.
	objectSize = 1 << 10
	// benchNode is the node the throughput figures sync to.
	benchNode = "bench-node"
	// syncTimeout bounds the wait for one iteration's objects.
	syncTimeout = 2 * time.Minute
)

// benchObjects measures cloud→edge objects/s to one node: b.N distinct
// 1 KiB objects go into the node's desired set through the cloud bus, and
// the clock stops when the edge store holds them all and the hub has their
// acks. oneWay > 0 puts a TCP proxy adding that delay each way between the
// edge and the cloud (WebSocket only).
func benchObjects(b *testing.B, transport string, oneWay time.Duration) {
	p := tt.NewPKI(b)
	cloud := tt.StartCloud(b, p, tt.CloudOptions{})
	addr := cloud.WebSocketAddr
	if transport == tunnel.TransportQUIC {
		addr = cloud.QUICAddr
	}
	if oneWay > 0 {
		addr = testenv.StartTCPProxy(b, addr, testenv.ProxyOptions{Delay: oneWay}).Addr()
	}
	edge := tt.StartEdge(b, p, tt.EdgeOptions{Cert: p.NodeCert(b, benchNode), Transport: transport, Address: addr})
	waitHeld(b, cloud, edge, 0) // connected, and in sync with an empty set
	keys, uids, contents := objects(b.N)

	b.ResetTimer()
	for i := range b.N {
		cloud.Set(b, benchNode, keys[i], uids[i], "1", contents[i])
	}
	waitHeld(b, cloud, edge, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// objects returns n distinct objects of objectSize bytes. Each is the
// first one's JSON with its own uid, which has the same length.
func objects(n int) (keys []message.Resource, uids []string, contents [][]byte) {
	uid := func(i int) string { return fmt.Sprintf("uid-%08d", i) }
	tmpl := tt.Object(uid(0), objectSize-len(tt.Object(uid(0), 0)))
	at := bytes.Index(tmpl, []byte(uid(0)))
	keys, uids, contents = make([]message.Resource, n), make([]string, n), make([][]byte, n)
	for i := range n {
		uids[i] = uid(i)
		keys[i] = tt.Key(fmt.Sprintf("obj-%08d", i))
		contents[i] = slices.Clone(tmpl)
		copy(contents[i][at:], uids[i])
	}
	return keys, uids, contents
}

// waitHeld waits, checking every millisecond, until the edge store holds n
// objects and the hub has every ack it waits for.
func waitHeld(b *testing.B, cloud *tt.Cloud, edge *tt.Edge, n int) {
	b.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(syncTimeout)
	for edge.Store.Len() != n || !cloud.Hub.InSync(benchNode) {
		if time.Now().After(deadline) {
			b.Fatalf("after %v the edge holds %d of %d objects, in sync %v",
				syncTimeout, edge.Store.Len(), n, cloud.Hub.InSync(benchNode))
		}
		<-tick.C
	}
}
