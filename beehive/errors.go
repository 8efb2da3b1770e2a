package beehive

import "errors"

// Sentinel errors. Every error the bus returns that callers may branch on
// wraps one of these; test with errors.Is.
var (
	// ErrUnknownModule: the destination (or the module passed to Receive)
	// was never registered.
	ErrUnknownModule = errors.New("beehive: unknown module")
	// ErrUnknownGroup: no registered module belongs to the group.
	ErrUnknownGroup = errors.New("beehive: unknown group")
	// ErrQueueFull: TrySend found the destination queue full. The message
	// was not queued; the caller still owns it.
	ErrQueueFull = errors.New("beehive: queue full")
	// ErrTimeout: SendSync's timeout passed before the response came. Errors
	// wrapping it also wrap context.DeadlineExceeded.
	ErrTimeout = errors.New("beehive: timed out waiting for response")
	// ErrShutdownTimeout: Run gave up waiting for modules that did not
	// return within Options.ShutdownTimeout; the error names them.
	ErrShutdownTimeout = errors.New("beehive: modules did not stop in time")
	// ErrClosed: the bus's Run has returned; nothing more is sent or received.
	ErrClosed = errors.New("beehive: bus closed")
	// ErrStarted: Register or Run was called after Run had started.
	ErrStarted = errors.New("beehive: bus already started")
	// ErrDuplicateModule: Register was given a name already on the bus.
	ErrDuplicateModule = errors.New("beehive: duplicate module name")
)
