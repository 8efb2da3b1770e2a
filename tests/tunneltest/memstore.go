package tunneltest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/common/objsync"
)

// MemStore is an edgehub.Store in memory, safe for concurrent use.
type MemStore struct {
	// mu guards objects.
	mu      sync.Mutex
	objects map[message.Resource]memObject
}

type memObject struct {
	version objsync.Version
	content []byte
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{objects: make(map[message.Resource]memObject)}
}

// Manifest implements edgehub.Store.
func (s *MemStore) Manifest(context.Context) ([]objsync.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]objsync.Entry, 0, len(s.objects))
	for k, o := range s.objects {
		out = append(out, objsync.Entry{Key: k, Version: o.version})
	}
	return out, nil
}

// Apply implements edgehub.Store.
func (s *MemStore) Apply(_ context.Context, m message.Message) error {
	key := m.Route.Resource
	switch m.Route.Operation {
	case message.OpInsert, message.OpUpdate:
		uid, err := objsync.UIDOf(m.Content)
		if err != nil {
			return fmt.Errorf("store %s: %w", key, err)
		}
		o := memObject{objsync.Version{UID: uid, ResourceVersion: m.Header.ResourceVersion}, slices.Clone(m.Content)}
		s.mu.Lock()
		s.objects[key] = o
		s.mu.Unlock()
	case message.OpDelete:
		s.mu.Lock()
		delete(s.objects, key)
		s.mu.Unlock()
	default:
		return fmt.Errorf("store %s: operation %q is not a sync operation", key, m.Route.Operation)
	}
	return nil
}

// Len is how many objects the store holds.
func (s *MemStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objects)
}
