package edgecontroller

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// objectJSON encodes obj as the edge expects objects: apiVersion v1 and
// kind set, managedFields left out. It changes obj, so obj must be the
// caller's own copy.
func objectJSON(obj runtime.Object, kind string) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", kind, err)
	}
	return b, nil
}

// isConflictOrExists is what a get-then-create-or-update loop retries on.
func isConflictOrExists(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}
