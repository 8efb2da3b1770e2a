package beehivetest

import (
	"context"
	"time"

	"github.com/tether-edge/tether/beehive"
	"github.com/tether-edge/tether/common/message"
)

// bus is what the fake stands in for: its methods have beehive.Bus's
// signatures.
type bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	Send(ctx context.Context, m message.Message) error
	TrySend(m message.Message) error
	SendSync(ctx context.Context, m message.Message, timeout time.Duration) (message.Message, error)
	SendResponse(ctx context.Context, resp message.Message) error
}

var (
	_ bus = (*beehive.Bus)(nil)
	_ bus = (*Bus)(nil)
)
