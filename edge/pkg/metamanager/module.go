package metamanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
)

// Name is the module's name on the bus.
const Name = "metamanager"

// OpLoaded tells a subscriber that every stored object has been handed to
// it: what follows are changes.
const OpLoaded message.Operation = "store-loaded"

// maxRemote bounds the queries waiting on the cloud at once.
const maxRemote = 32

// Bus is what the module needs of beehive.Bus.
type Bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	Send(ctx context.Context, m message.Message) error
	SendSync(ctx context.Context, m message.Message, timeout time.Duration) (message.Message, error)
	SendResponse(ctx context.Context, resp message.Message) error
}

// Options configure a Manager.
type Options struct {
	// Bus, Store and Logger are required.
	Bus    Bus
	Store  *Store
	Logger *slog.Logger
	// Hub is the module statuses and remote queries go to; required
	// ("edgehub" in edgecore).
	Hub string
	// Subscribers are the modules told about every stored object (Edged):
	// each one at Start, then OpLoaded, then every change. Optional.
	Subscribers []string
	// RequestTimeout bounds a query forwarded to the cloud; required > 0.
	RequestTimeout time.Duration
}

func (o *Options) validate() error {
	if o.Bus == nil || o.Store == nil || o.Logger == nil || o.Hub == "" {
		return errors.New("metamanager: Bus, Store, Logger and Hub are required")
	}
	if o.RequestTimeout <= 0 {
		return errors.New("metamanager: RequestTimeout must be positive")
	}
	return nil
}

// Manager is the metamanager module. It is also the edge hub's store
// (Manifest, Apply).
type Manager struct {
	opts Options
	log  *slog.Logger

	// notifyMu orders what subscribers are told: the replay at Start and
	// the changes Apply reports never interleave, so a subscriber never
	// sees an older version of an object after a newer one.
	notifyMu sync.Mutex
}

// New validates o.
func New(o Options) (*Manager, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &Manager{opts: o, log: o.Logger.With("module", Name)}, nil
}

// Name implements beehive.Module.
func (m *Manager) Name() string { return Name }

// Group implements beehive.Module.
func (m *Manager) Group() string { return "meta" }

// Manifest implements edgehub.Store.
func (m *Manager) Manifest(ctx context.Context) ([]objsync.Entry, error) {
	return m.opts.Store.Manifest(ctx)
}

// Apply implements edgehub.Store: the change is committed, then every
// subscriber is told.
func (m *Manager) Apply(ctx context.Context, msg message.Message) error {
	if err := m.opts.Store.Apply(ctx, msg); err != nil {
		return err
	}
	m.notifyMu.Lock()
	defer m.notifyMu.Unlock()
	return m.tell(ctx, msg.Route.Operation, msg.Route.Resource, msg.Header.ResourceVersion, msg.Content)
}

// Start hands the stored objects to the subscribers and the kept statuses
// to the hub, then serves statuses and queries until ctx ends.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.replayObjects(ctx); err != nil {
		return err
	}
	if err := m.replayStatuses(ctx); err != nil {
		return err
	}
	var remote sync.WaitGroup
	defer remote.Wait()
	slots := make(chan struct{}, maxRemote)
	for {
		msg, err := m.opts.Bus.Receive(ctx, Name)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("metamanager: receive: %w", err)
		}
		switch {
		case msg.IsResponse():
			m.log.Debug("dropped a response to no request", "from", msg.Route.Source)
		case msg.Header.Sync:
			m.query(ctx, msg, &remote, slots)
		default:
			if err := m.status(ctx, msg); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// replayObjects tells every subscriber about every stored object, then
// OpLoaded. It does not wait for the cloud. With no subscribers it reads
// nothing: the replay is every object's content.
func (m *Manager) replayObjects(ctx context.Context) error {
	if len(m.opts.Subscribers) == 0 {
		// Nobody to hand contents to: say what the store holds from the
		// manifest, which reads no content.
		entries, err := m.opts.Store.Manifest(ctx)
		if err != nil {
			return fmt.Errorf("metamanager: load the local store: %w", err)
		}
		keys := make([]message.Resource, len(entries))
		for i, e := range entries {
			keys[i] = e.Key
		}
		m.logLoaded(keys)
		return nil
	}
	m.notifyMu.Lock()
	defer m.notifyMu.Unlock()
	records, err := m.opts.Store.List(ctx, "", "")
	if err != nil {
		return fmt.Errorf("metamanager: load the local store: %w", err)
	}
	keys := make([]message.Resource, len(records))
	for i, r := range records {
		keys[i] = r.Key
		if err := m.tell(ctx, message.OpInsert, r.Key, r.ResourceVersion, r.Content); err != nil {
			return err
		}
	}
	if err := m.tell(ctx, OpLoaded, message.Resource{}, "", nil); err != nil {
		return err
	}
	m.logLoaded(keys)
	return nil
}

// logLoaded says what the store held at start.
func (m *Manager) logLoaded(keys []message.Resource) {
	pods := 0
	for _, k := range keys {
		if k.Type == kubemsg.TypePod {
			pods++
		}
	}
	m.log.Info("loaded the local store", "objects", len(keys), "pods", pods, "subscribers", m.opts.Subscribers)
}

// tell sends one object change to every subscriber. The caller holds notifyMu.
func (m *Manager) tell(ctx context.Context, op message.Operation, key message.Resource, rv string, content []byte) error {
	for _, s := range m.opts.Subscribers {
		n := message.New(Name, s, op, key, content)
		n.Header.ResourceVersion = rv
		if err := m.opts.Bus.Send(ctx, n); err != nil {
			return fmt.Errorf("metamanager: tell %s about %s: %w", s, key, err)
		}
	}
	return nil
}

// replayStatuses hands the statuses kept in SQLite to the hub, which sends
// them when the cloud is connected; the cloud keeps the newest.
func (m *Manager) replayStatuses(ctx context.Context) error {
	kept, err := m.opts.Store.Statuses(ctx)
	if err != nil {
		return fmt.Errorf("metamanager: load kept statuses: %w", err)
	}
	for _, s := range kept {
		if err := m.opts.Bus.Send(ctx, s); err != nil {
			return fmt.Errorf("metamanager: hand kept status %s to %s: %w", s.Route.Resource, m.opts.Hub, err)
		}
	}
	if len(kept) > 0 {
		m.log.Info("kept statuses handed to the hub", "statuses", len(kept))
	}
	return nil
}

// status keeps a status an edge module produced and hands it to the hub.
// A status older than the one kept for its resource is dropped.
func (m *Manager) status(ctx context.Context, msg message.Message) error {
	if msg.Route.Resource.IsZero() || msg.Route.Group == "" {
		m.log.Warn("dropped a status that names no resource or cloud group", "from", msg.Route.Source, "op", msg.Route.Operation)
		return nil
	}
	msg.Route.Destination = m.opts.Hub
	kept, err := m.opts.Store.PutStatus(ctx, msg)
	if err != nil && ctx.Err() != nil {
		return nil // stopping; the kept status, if any, is older but still sent
	}
	if err != nil {
		// The status still goes up; only its survival of a restart is lost.
		m.log.Error("status not kept in the local store", "resource", msg.Route.Resource, "err", err)
	} else if !kept {
		return nil
	}
	return m.opts.Bus.Send(ctx, msg)
}

// query answers a request from the store, or from the cloud when the
// store does not have it and the cloud does (configmaps, secrets, tokens).
func (m *Manager) query(ctx context.Context, msg message.Message, remote *sync.WaitGroup, slots chan struct{}) {
	if msg.Route.Operation != message.OpQuery {
		m.respond(ctx, msg, message.OpError, fmt.Sprintf("metamanager: operation %q is not supported; send a query", msg.Route.Operation))
		return
	}
	res := msg.Route.Resource
	if res.Type != kubemsg.TypeToken {
		content, err := m.local(ctx, res)
		switch {
		case err == nil:
			m.respondContent(ctx, msg, message.OpResponse, content)
			return
		case !errors.Is(err, ErrNotFound) || !remoteType(res.Type):
			m.respond(ctx, msg, message.OpError, err.Error())
			return
		}
	}
	select {
	case slots <- struct{}{}:
	default:
		m.respond(ctx, msg, message.OpError, "metamanager: too many queries waiting on the cloud")
		return
	}
	remote.Add(1)
	go func() {
		defer remote.Done()
		defer func() { <-slots }()
		m.remote(ctx, msg)
	}()
}

// remoteType says whether the cloud answers queries for objects of typ
// that the store lacks.
func remoteType(typ string) bool {
	return typ == kubemsg.TypeConfigMap || typ == kubemsg.TypeSecret
}

// local reads one object, or a JSON array of every object of a type when
// the resource names none.
func (m *Manager) local(ctx context.Context, res message.Resource) ([]byte, error) {
	if res.Name != "" {
		r, err := m.opts.Store.Get(ctx, res)
		if err != nil {
			return nil, err
		}
		return r.Content, nil
	}
	records, err := m.opts.Store.List(ctx, res.Type, res.Namespace)
	if err != nil {
		return nil, err
	}
	items := make([]json.RawMessage, len(records))
	for i, r := range records {
		items[i] = r.Content
	}
	return json.Marshal(items)
}

// remote forwards a query to EdgeController through the hub and relays
// the answer.
func (m *Manager) remote(ctx context.Context, msg message.Message) {
	fwd := message.New(Name, m.opts.Hub, message.OpQuery, msg.Route.Resource, msg.Content)
	fwd.Route.Group = kubemsg.Group
	resp, err := m.opts.Bus.SendSync(ctx, fwd, m.opts.RequestTimeout)
	if err != nil {
		if ctx.Err() == nil {
			m.respond(ctx, msg, message.OpError, fmt.Sprintf("metamanager: %s is not stored here and the cloud did not answer: %v", msg.Route.Resource, err))
		}
		return
	}
	m.respondContent(ctx, msg, resp.Route.Operation, resp.Content)
}

func (m *Manager) respond(ctx context.Context, msg message.Message, op message.Operation, text string) {
	m.respondContent(ctx, msg, op, []byte(text))
}

func (m *Manager) respondContent(ctx context.Context, msg message.Message, op message.Operation, content []byte) {
	if err := m.opts.Bus.SendResponse(ctx, msg.Response(Name, op, content)); err != nil {
		m.log.Debug("response not delivered", "to", msg.Route.Source, "err", err)
	}
}
