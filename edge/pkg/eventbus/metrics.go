package eventbus

import "github.com/prometheus/client_golang/prometheus"

// Reasons a publication is dropped (label "reason" of
// tether_eventbus_mqtt_dropped_total).
const (
	// DropTooLarge: a publication received over maxPayloadBytes.
	DropTooLarge = "too_large"
	// DropBus: a publication received that the bus did not take (EventBus
	// was stopping).
	DropBus = "bus"
	// DropInvalid: a publish request EventBus cannot use (operation,
	// resource or topic).
	DropInvalid = "invalid"
	// DropPublishError: the broker (or paho) refused a publication.
	DropPublishError = "publish_error"
)

// Metrics are EventBus's Prometheus collectors.
type Metrics struct {
	// Messages counts publications by direction: "in" received on the
	// subscribed topics (from devices, mappers and apps), "out" published
	// by edgecore.
	Messages *prometheus.CounterVec
	// Dropped counts publications dropped, by reason (the Drop constants).
	Dropped *prometheus.CounterVec

	// The series, resolved once: counting allocates nothing.
	in, out                                  prometheus.Counter
	tooLarge, busDrop, invalid, publishError prometheus.Counter
}

// NewMetrics creates EventBus's collectors and registers them on reg; a
// collector registered twice panics (a programmer error at start-up).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_eventbus_mqtt_messages_total",
			Help: `MQTT publications EventBus handled: direction "in" received on its subscribed $hw/events topics, "out" published by edgecore.`,
		}, []string{"direction"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_eventbus_mqtt_dropped_total",
			Help: `MQTT publications EventBus dropped, by reason: too_large and bus (received), invalid and publish_error (to publish).`,
		}, []string{"reason"}),
	}
	reg.MustRegister(m.Messages, m.Dropped)
	m.in, m.out = m.Messages.WithLabelValues("in"), m.Messages.WithLabelValues("out")
	m.tooLarge = m.Dropped.WithLabelValues(DropTooLarge)
	m.busDrop = m.Dropped.WithLabelValues(DropBus)
	m.invalid = m.Dropped.WithLabelValues(DropInvalid)
	m.publishError = m.Dropped.WithLabelValues(DropPublishError)
	return m
}
