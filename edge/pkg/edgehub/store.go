package edgehub

import (
	"context"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
)

// Store keeps the objects the cloud synced to this node. MetaManager
// implements it over SQLite; tests/tunneltest has one in memory.
type Store interface {
	// Manifest lists what the store holds, for the start of a session.
	Manifest(ctx context.Context) ([]objsync.Entry, error)
	// Apply stores a sync message: OpInsert and OpUpdate put the object
	// (Route.Resource, Header.ResourceVersion, Content), OpDelete removes
	// it. It returns once the change is stored; the hub acknowledges it
	// only then.
	Apply(ctx context.Context, m message.Message) error
}
