package client

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
)

// DeviceModelClient reads and writes the DeviceModels of one namespace (or,
// for List and Watch, of all).
type DeviceModelClient struct {
	ri dynamic.ResourceInterface
}

// Get returns the DeviceModel called name.
func (c *DeviceModelClient) Get(ctx context.Context, name string, opts metav1.GetOptions) (*v1beta1.DeviceModel, error) {
	return result[v1beta1.DeviceModel](c.ri.Get(ctx, name, opts))
}

// List returns the DeviceModels that opts select.
func (c *DeviceModelClient) List(ctx context.Context, opts metav1.ListOptions) (*v1beta1.DeviceModelList, error) {
	return listResult[v1beta1.DeviceModelList](c.ri.List(ctx, opts))
}

// Watch watches the DeviceModels that opts select; event objects are
// *v1beta1.DeviceModel.
func (c *DeviceModelClient) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return typedWatch[v1beta1.DeviceModel](c.ri.Watch(ctx, opts))
}

// Create creates model and returns it as stored.
func (c *DeviceModelClient) Create(ctx context.Context, model *v1beta1.DeviceModel, opts metav1.CreateOptions) (*v1beta1.DeviceModel, error) {
	u, err := toUnstructured(model, v1beta1.DeviceModelKind)
	if err != nil {
		return nil, err
	}
	return result[v1beta1.DeviceModel](c.ri.Create(ctx, u, opts))
}

// Update replaces model; a stale resourceVersion fails with a Conflict.
func (c *DeviceModelClient) Update(ctx context.Context, model *v1beta1.DeviceModel, opts metav1.UpdateOptions) (*v1beta1.DeviceModel, error) {
	u, err := toUnstructured(model, v1beta1.DeviceModelKind)
	if err != nil {
		return nil, err
	}
	return result[v1beta1.DeviceModel](c.ri.Update(ctx, u, opts))
}

// Delete deletes the DeviceModel called name.
func (c *DeviceModelClient) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return c.ri.Delete(ctx, name, opts)
}
