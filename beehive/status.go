package beehive

// ModuleStatus is a snapshot of one module, for health endpoints.
type ModuleStatus struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	// Running is true while the module's Start is executing (false while
	// it waits to be restarted, after it finished, and before Run).
	Running bool `json:"running"`
	// Restarts counts Start calls after the first.
	Restarts int `json:"restarts"`
	// LastError is the last error Start returned while the bus ran; empty
	// if none.
	LastError string `json:"lastError"`
	// Queued is how many messages wait in the module's queue.
	Queued int `json:"queued"`
}

// Status reports every module, in registration order.
func (b *Bus) Status() []ModuleStatus {
	order := b.routes.Load().order
	out := make([]ModuleStatus, 0, len(order))
	for _, e := range order {
		out = append(out, ModuleStatus{
			Name:      e.name,
			Group:     e.group,
			Running:   e.running.Load(),
			Restarts:  int(e.restarts.Load()),
			LastError: e.lastError(),
			Queued:    len(e.queue),
		})
	}
	return out
}

// Stats are the bus's counters.
type Stats struct {
	// SyncTimeouts counts SendSync calls that gave up (timeout, cancelled
	// context, or bus closed) after their request was queued.
	SyncTimeouts uint64
	// LateResponses counts responses dropped because their SendSync caller
	// had already given up.
	LateResponses uint64
}

// Stats reports the bus's counters.
func (b *Bus) Stats() Stats {
	return Stats{
		SyncTimeouts:  b.sync.timeouts.Load(),
		LateResponses: b.sync.late.Load(),
	}
}
