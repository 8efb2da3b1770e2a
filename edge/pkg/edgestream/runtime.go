package edgestream

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"k8s.io/apimachinery/pkg/types"
)

// Sentinels a Runtime's errors wrap; the handler answers them with 404, 400
// and 503. Any other error is a 500.
var (
	ErrNotFound    = errors.New("not found")
	ErrBadRequest  = errors.New("bad request")
	ErrUnavailable = errors.New("unavailable")
)

// Errorf returns an error whose text is the formatted message alone and
// which Is kind (one of the sentinels), so that the handler answers with
// kind's status and a kubelet-like text such as
// `container "c" not found in pod "p"`.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// PodRef names a pod of this node. UID, when not empty, must be the pod's:
// a request for an earlier pod of the same name is refused.
type PodRef struct {
	Namespace, Name string
	UID             types.UID
}

func (r PodRef) String() string { return r.Namespace + "/" + r.Name }

// ContainerRef names a container of a pod of this node.
type ContainerRef struct {
	Namespace, Pod string
	// UID, when not empty, must be the pod's.
	UID       types.UID
	Container string
}

// PodRef returns the pod the container belongs to.
func (r ContainerRef) PodRef() PodRef {
	return PodRef{Namespace: r.Namespace, Name: r.Pod, UID: r.UID}
}

// Container is one attempt of a container, as the runtime holds it.
type Container struct {
	// ID is the runtime's container ID.
	ID string
	// LogPath is the container's CRI log file.
	LogPath string
}

// Streams are the streams of an exec or attach session.
type Streams struct {
	Stdin, Stdout, Stderr, TTY bool
}

// Runtime is what the handler needs of the node's pod runtime (Edged). Its
// methods are called concurrently, one request each. Errors wrap
// ErrNotFound, ErrBadRequest or ErrUnavailable where those apply (see
// Errorf); a pod that is not on this node is ErrNotFound.
type Runtime interface {
	// Container resolves a container of a pod on this node: its newest
	// attempt, or with previous the attempt before it.
	Container(ctx context.Context, ref ContainerRef, previous bool) (Container, error)
	// Running reports whether the container runs now (a fresh answer,
	// not a cached one); false when that cannot be told.
	Running(ctx context.Context, containerID string) bool
	// Exec, Attach and PortForward ask the runtime for a streaming URL to
	// which the client's request is proxied.
	Exec(ctx context.Context, containerID string, cmd []string, s Streams) (*url.URL, error)
	Attach(ctx context.Context, containerID string, s Streams) (*url.URL, error)
	PortForward(ctx context.Context, ref PodRef, ports []int32) (*url.URL, error)
}
