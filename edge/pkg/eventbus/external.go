package eventbus

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tether-edge/tether/common/config"
)

// Timing of the external client.
const (
	// connectRetryInterval is the wait between attempts until the first
	// connection.
	connectRetryInterval = 2 * time.Second
	// maxReconnectInterval caps paho's doubling back-off after a lost
	// connection.
	maxReconnectInterval = 10 * time.Second
	// subscribeTimeout bounds one SUBSCRIBE exchange; resubscribeWait is
	// the pause before trying again.
	subscribeTimeout = 10 * time.Second
	resubscribeWait  = time.Second
	// writeTimeout bounds handing a packet to paho's writer and one write.
	writeTimeout = 5 * time.Second
	// disconnectQuiesce is how long Disconnect lets work in flight finish
	// (milliseconds).
	disconnectQuiesce = 250
)

// external is a paho client of another broker. It uses a persistent session
// (CleanSession false) and subscribes again on every connection.
type external struct {
	server string
	log    *slog.Logger
	opts   *paho.ClientOptions

	client paho.Client
	cancel context.CancelFunc
	// attempts counts connection attempts since the last connection.
	attempts atomic.Int64
}

func newExternal(c config.EventBus, password string, log *slog.Logger) *external {
	b := &external{server: c.External.Server, log: log}
	b.opts = paho.NewClientOptions().
		AddBroker(c.External.Server).
		SetClientID(c.External.ClientID).
		SetUsername(c.External.Username).
		SetPassword(password).
		SetProtocolVersion(4).
		SetCleanSession(false).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxReconnectInterval).
		SetConnectRetry(true).
		SetConnectRetryInterval(connectRetryInterval).
		SetWriteTimeout(writeTimeout).
		SetConnectionAttemptHandler(b.attempt).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			b.log.Warn("lost the external MQTT broker; reconnecting", "server", b.server, "err", err)
		})
	return b
}

func (b *external) start(ctx context.Context, deliver func(context.Context, string, []byte)) error {
	ctx, b.cancel = context.WithCancel(ctx)
	handler := func(_ paho.Client, m paho.Message) { deliver(ctx, m.Topic(), m.Payload()) }
	b.opts.SetOnConnectHandler(func(c paho.Client) {
		b.attempts.Store(0)
		b.log.Info("connected to the external MQTT broker", "server", b.server)
		b.subscribe(ctx, c, handler)
	})
	b.client = paho.NewClient(b.opts)
	// With ConnectRetry the token completes only once connected (or at
	// Disconnect); attempts go on in paho's goroutine.
	b.client.Connect()
	return nil
}

// attempt logs the first failed attempt in a row at Warn, later ones at
// Debug.
func (b *external) attempt(_ *url.URL, tc *tls.Config) *tls.Config {
	switch n := b.attempts.Add(1); {
	case n == 2:
		b.log.Warn("cannot reach the external MQTT broker; still trying", "server", b.server)
	case n > 2:
		b.log.Debug("connecting to the external MQTT broker", "server", b.server, "attempt", n)
	}
	return tc
}

// subscribe subscribes every filter of Subscriptions in one SUBSCRIBE,
// trying again while the connection is up and the broker refuses or does
// not answer.
func (b *external) subscribe(ctx context.Context, c paho.Client, handler paho.MessageHandler) {
	filters := make(map[string]byte)
	for _, s := range Subscriptions() {
		filters[s.Filter] = s.QoS
	}
	for c.IsConnectionOpen() {
		err := waitToken(ctx, c.SubscribeMultiple(filters, handler), subscribeTimeout)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		b.log.Error("subscribe on the external MQTT broker failed; trying again", "server", b.server, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(resubscribeWait):
		}
	}
}

// waitToken waits for t until timeout or ctx ends; a SUBSCRIBE the broker
// refused (return code 0x80) is an error too.
func waitToken(ctx context.Context, t paho.Token, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.Done():
	case <-timer.C:
		return fmt.Errorf("no answer within %v", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := t.Error(); err != nil {
		return err
	}
	if st, ok := t.(*paho.SubscribeToken); ok {
		for filter, code := range st.Result() {
			if code > 2 {
				return fmt.Errorf("broker refused %s (code %#x)", filter, code)
			}
		}
	}
	return nil
}

// publish hands the publication to paho without waiting for the broker: a
// QoS 1 publication made while reconnecting waits in paho's memory store.
func (b *external) publish(topic string, payload []byte, qos byte) error {
	t := b.client.Publish(topic, qos, false, payload)
	select {
	case <-t.Done():
		return t.Error()
	default:
		return nil
	}
}

func (b *external) connected() bool { return b.client.IsConnectionOpen() }

// stop cancels deliveries waiting for the bus, then disconnects (or stops
// connecting) and waits for paho's goroutines.
func (b *external) stop() {
	b.cancel()
	b.client.Disconnect(disconnectQuiesce)
}
