package nodestatus

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
)

// addressTimeout bounds finding the address that routes to the cloud
// (a name lookup at most: the UDP "dial" sends nothing).
const addressTimeout = 5 * time.Second

// report sends a node status every UpdatePeriod and when poked, and a lease
// renewal every LeaseDuration/4, connected or not, until ctx ends.
func (m *Module) report(ctx context.Context) {
	statusTick := time.NewTicker(m.opts.Config.UpdatePeriod.Duration)
	defer statusTick.Stop()
	leaseTick := time.NewTicker(m.opts.Config.LeaseDuration.Duration / 4)
	defer leaseTick.Stop()
	prev := m.reportStatus(ctx, nil)
	m.renewLease(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-statusTick.C:
			prev = m.reportStatus(ctx, prev)
		case <-m.poke:
			prev = m.reportStatus(ctx, prev)
		case <-leaseTick.C:
			m.renewLease(ctx)
		}
	}
}

// reportStatus sends the node status computed over prev, which it returns.
func (m *Module) reportStatus(ctx context.Context, prev *corev1.NodeStatus) *corev1.NodeStatus {
	obs, err := m.observe()
	if err != nil {
		m.log.Warn("node status not reported", "err", err)
		return prev
	}
	now := m.opts.Now()
	s := status(obs, m.opts.Config, m.identity(ctx), prev, now)
	m.toSink(ctx, message.Resource{Type: kubemsg.TypeNodeStatus, Name: m.opts.NodeName}, s, now)
	return &s
}

// renewLease asks for the node's Lease to be renewed.
func (m *Module) renewLease(ctx context.Context) {
	res := message.Resource{Namespace: kubemsg.LeaseNamespace, Type: kubemsg.TypeLease, Name: m.opts.NodeName}
	renewal := kubemsg.LeaseRenewal{DurationSeconds: int32(m.opts.Config.LeaseDuration.Duration / time.Second)}
	m.toSink(ctx, res, renewal, m.opts.Now())
}

// toSink sends v about res to StatusSink as a one-way status made at now.
func (m *Module) toSink(ctx context.Context, res message.Resource, v any, now time.Time) {
	body, err := json.Marshal(v)
	if err != nil {
		m.log.Error("status not encoded", "resource", res, "err", err)
		return
	}
	msg := message.New(Name, m.opts.StatusSink, message.OpUpdate, res, body)
	msg.Header.Timestamp = now.UnixMilli()
	msg.Route.Group = kubemsg.Group
	if err := m.opts.Bus.Send(ctx, msg); err != nil && ctx.Err() == nil {
		m.log.Warn("status not sent", "resource", res, "to", m.opts.StatusSink, "err", err)
	}
}

// identity is what the Node says of this edgecore now.
func (m *Module) identity(ctx context.Context) identity {
	return identity{name: m.opts.NodeName, internalIP: m.internalIP(ctx), kubeletVersion: m.version}
}

// internalIP is Config.InternalIP, or else the local address routing to the
// cloud; while that cannot be found, the last one found.
func (m *Module) internalIP(ctx context.Context) string {
	if ip := m.opts.Config.InternalIP; ip != "" {
		return ip
	}
	ip, err := routeAddress(ctx, m.opts.CloudServer)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if !m.ipFailing {
			m.log.Warn("cannot find the internal IP; keeping the last one", "last", m.lastIP, "err", err)
		}
		m.ipFailing = true
		return m.lastIP
	}
	if ip != m.lastIP {
		m.log.Info("internal IP", "address", ip, "was", m.lastIP)
	}
	m.lastIP, m.ipFailing = ip, false
	return ip
}

// routeAddress returns the local address the system would use to reach
// server (a host, optionally with a port), without sending anything.
func routeAddress(ctx context.Context, server string) (string, error) {
	hostport := server
	if _, _, err := net.SplitHostPort(server); err != nil {
		hostport = net.JoinHostPort(strings.Trim(server, "[]"), "9")
	}
	ctx, cancel := context.WithTimeout(ctx, addressTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", hostport)
	if err != nil {
		return "", fmt.Errorf("find the address routing to %s: %w", server, err)
	}
	defer c.Close()
	addr, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return "", fmt.Errorf("find the address routing to %s: local address %v", server, c.LocalAddr())
	}
	return addr.IP.String(), nil
}

// InternalIP is the address the Node reports as its InternalIP: the
// configured one, else the last one found routing to the cloud (looked up
// now if none was found yet). Edged reports it as its pods' hostIP.
func (m *Module) InternalIP() string {
	if ip := m.opts.Config.InternalIP; ip != "" {
		return ip
	}
	m.mu.Lock()
	ip := m.lastIP
	m.mu.Unlock()
	if ip != "" {
		return ip
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return m.internalIP(ctx)
}
