// Package beehive is Tether's in-process module bus. Each binary's
// components (EdgeHub, MetaManager, Edged, CloudHub, ...) are Modules: main
// builds them, Registers each with a Policy on one Bus, and calls Run. The
// modules then exchange message.Message values through the bus and the bus
// supervises their lifetimes.
//
// # Addressing
//
// A module has a unique Name and a Group that several modules may share.
// Send and TrySend deliver to the module named by Route.Destination.
// SendToGroup delivers to ONE module of Route.Group, taking the group's
// modules in turn (round-robin, in registration order); Broadcast delivers
// a copy to EVERY module of the group. Both set Route.Destination on the
// copy they queue. An unknown destination is ErrUnknownModule, an empty or
// unknown group ErrUnknownGroup; nothing on the bus panics on bad input.
//
// # Ordering
//
// Messages from one sender goroutine to one module are received in the
// order they were sent (FIFO per sender→receiver pair). There is no order
// across senders, nor across the modules of a Broadcast.
//
// # Buffering and full queues
//
// Each module has one bounded queue (Options.QueueSize, default 1024),
// created by Register and kept across restarts, so messages may be sent
// before Run and survive a module's restart. Receive takes the next message
// of a module's queue. When a queue is full, Send, SendToGroup and
// Broadcast wait for room until their ctx is done (returning its error) or
// the bus closes (ErrClosed); TrySend never waits and returns ErrQueueFull.
// A message is either queued or the caller gets an error: the bus never
// drops one silently. Messages to a module that has finished stay queued,
// and senders to its full queue wait as above.
//
// # Request and response
//
// SendSync sends a request (Header.Sync set, Header.ID set if empty) and
// waits for the response: the message passed to SendResponse whose
// Header.ParentID equals the request's ID (message.Message.Response builds
// one). The responder is never blocked by handing it over. SendSync gives
// up after its timeout (ErrTimeout, which also matches
// context.DeadlineExceeded), when its ctx is done, or when the bus closes.
// A response that comes after its requester gave up is dropped with a
// debug log and counted in Stats.LateResponses (the bus remembers the last
// 4096 abandoned request IDs; an older one is routed like an unsolicited
// response). SendResponse routes a response that nobody waits for like Send
// to Route.Destination, so asynchronous request/response works too.
//
// # Supervision
//
// Run calls every module's Start in its own goroutine with a context that
// ends when Run's does. A Start that returns nil while that context is live
// has finished: it is logged and not restarted. A Start that fails is
// restarted under Policy.OnError == Restart after a back-off that starts at
// BackoffInitial, doubles up to BackoffMax, resets after a run of at least
// ResetAfter, and waits with the context (no jitter: restarts are local).
// Under StopProcess the failure stops the bus: Run cancels every module,
// joins them and returns the error wrapped with the module's name. A
// panicking module is not recovered: it crashes the process.
//
// # Shutdown
//
// Stopping is cancel then join. When Run's ctx is done (or a StopProcess
// module failed) Run cancels the modules' context and waits up to
// Options.ShutdownTimeout (default 5s) for every Start to return. Modules
// still running then are named in an error wrapping ErrShutdownTimeout;
// their goroutines are left to end on their own. When Run returns the bus
// is closed: every call that sends or receives returns ErrClosed, and those
// waiting wake with it. Queues are never closed.
//
// # Concurrency
//
// New and Register are called by one goroutine (main) before Run; Register
// after Run has started is ErrStarted. Everything else (Send, TrySend,
// SendToGroup, Broadcast, Receive, SendSync, SendResponse, Status, Stats) is
// safe to call from any number of goroutines, before, during and after Run.
// Receive for one module is normally called only by that module; several
// receivers of one module share its queue, each message going to one of
// them. Routing reads an immutable table without locks.
package beehive
