package beehive

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether-edge/tether/common/message"
)

// Defaults for Options' zero fields.
const (
	DefaultQueueSize       = 1024
	DefaultShutdownTimeout = 5 * time.Second
)

// Options configures a Bus.
type Options struct {
	// Logger receives the bus's logs. Required: nil is an error.
	Logger *slog.Logger
	// QueueSize is each module's queue capacity. Default 1024; negative
	// is an error.
	QueueSize int
	// ShutdownTimeout is how long Run waits for modules to return once its
	// context is done (or a StopProcess module failed). Default 5s;
	// negative is an error.
	ShutdownTimeout time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.Logger == nil {
		return o, errors.New("options: Logger is required")
	}
	if o.QueueSize < 0 {
		return o, fmt.Errorf("options: negative QueueSize %d", o.QueueSize)
	}
	if o.ShutdownTimeout < 0 {
		return o, fmt.Errorf("options: negative ShutdownTimeout %v", o.ShutdownTimeout)
	}
	if o.QueueSize == 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	return o, nil
}

// Bus routes messages between registered modules and supervises them.
// See the package documentation for the contract.
type Bus struct {
	log             *slog.Logger
	queueSize       int
	shutdownTimeout time.Duration

	// routes is the routing table. Register replaces it whole (copy on
	// write, under mu); the send and receive paths only load it.
	routes atomic.Pointer[routes]

	// mu guards started and serialises Register's updates of routes.
	mu      sync.Mutex
	started bool

	// closed is set, and done closed, when Run returns. Nobody sends on done.
	closed atomic.Bool
	done   chan struct{}

	// sync tracks SendSync callers waiting for their responses.
	sync waiters
}

// New returns an empty bus configured by opts.
func New(opts Options) (*Bus, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new bus: %w", err)
	}
	b := &Bus{
		log:             opts.Logger,
		queueSize:       opts.QueueSize,
		shutdownTimeout: opts.ShutdownTimeout,
		done:            make(chan struct{}),
		sync:            newWaiters(),
	}
	b.routes.Store(&routes{byName: map[string]*entry{}, groups: map[string]*group{}})
	return b, nil
}

// routes is an immutable routing table.
type routes struct {
	byName map[string]*entry
	groups map[string]*group
	order  []*entry // registration order
}

// group is the modules sharing one Group name.
type group struct {
	members []*entry
	next    atomic.Uint64 // round-robin cursor for SendToGroup
}

// entry is one registered module: its queue and its supervision state.
type entry struct {
	mod    Module
	name   string
	group  string
	policy Policy
	queue  chan message.Message // never closed

	running  atomic.Bool  // Start is executing
	exited   atomic.Bool  // the supervising goroutine has returned
	restarts atomic.Int64 // Start calls after the first

	// errMu guards lastErr.
	errMu   sync.Mutex
	lastErr string
}

func (e *entry) setLastError(err error) {
	e.errMu.Lock()
	e.lastErr = err.Error()
	e.errMu.Unlock()
}

func (e *entry) lastError() string {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	return e.lastErr
}

// Register adds m to the bus with supervision policy p. It must be called
// before Run; a duplicate or empty name is an error. The module's queue
// exists from here on, so messages may be sent to it before Run.
func (b *Bus) Register(m Module, p Policy) error {
	if m == nil {
		return errors.New("register: nil module")
	}
	name := m.Name()
	if name == "" {
		return errors.New("register: empty module name")
	}
	p, err := p.withDefaults()
	if err != nil {
		return fmt.Errorf("register %q: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return fmt.Errorf("register %q: %w", name, ErrStarted)
	}
	old := b.routes.Load()
	if _, dup := old.byName[name]; dup {
		return fmt.Errorf("register %q: %w", name, ErrDuplicateModule)
	}
	e := &entry{
		mod: m, name: name, group: m.Group(), policy: p,
		queue: make(chan message.Message, b.queueSize),
	}
	b.routes.Store(old.with(e))
	return nil
}

// with returns a copy of r that also routes to e.
func (r *routes) with(e *entry) *routes {
	n := &routes{
		byName: maps.Clone(r.byName),
		groups: make(map[string]*group, len(r.groups)+1),
		order:  append(r.order[:len(r.order):len(r.order)], e),
	}
	n.byName[e.name] = e
	for name, g := range r.groups {
		n.groups[name] = &group{members: g.members}
	}
	if e.group != "" {
		g := n.groups[e.group]
		if g == nil {
			g = &group{}
			n.groups[e.group] = g
		}
		g.members = append(g.members[:len(g.members):len(g.members)], e)
	}
	return n
}

// lookup finds the module called name.
func (b *Bus) lookup(name string) (*entry, error) {
	if e := b.routes.Load().byName[name]; e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("module %q: %w", name, ErrUnknownModule)
}

// lookupGroup finds the modules of group name.
func (b *Bus) lookupGroup(name string) (*group, error) {
	if g := b.routes.Load().groups[name]; g != nil {
		return g, nil
	}
	return nil, fmt.Errorf("group %q: %w", name, ErrUnknownGroup)
}
