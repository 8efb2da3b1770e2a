package config

import (
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MetaManager configures the edge's local store.
type MetaManager struct {
	// DBPath is the SQLite store: the objects the cloud synced and the
	// statuses kept until delivered. Default /var/lib/tether/edgecore.db.
	DBPath string `json:"dbPath"`
	// BusyTimeout is how long a statement waits for a lock. Default 5s.
	BusyTimeout Duration `json:"busyTimeout"`
	// MaxBatch is the most writes committed in one transaction (group
	// commit). Default 1024.
	MaxBatch int `json:"maxBatch"`
}

func defaultMetaManager() MetaManager {
	return MetaManager{
		DBPath:      "/var/lib/tether/edgecore.db",
		BusyTimeout: Duration{5 * time.Second},
		MaxBatch:    1024,
	}
}

func (m MetaManager) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.DBPath == "" {
		errs = append(errs, field.Required(p.Child("dbPath"), ""))
	}
	errs = append(errs, positiveDuration(p.Child("busyTimeout"), m.BusyTimeout)...)
	errs = append(errs, positiveInt(p.Child("maxBatch"), m.MaxBatch)...)
	return errs
}
