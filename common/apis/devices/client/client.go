package client

import (
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/tether-edge/tether/common/apis/devices/v1beta1"
)

// Client reaches Devices and DeviceModels through a dynamic client.
type Client struct {
	dyn dynamic.Interface
}

// New returns a Client that sends every request through dyn (not nil).
func New(dyn dynamic.Interface) *Client {
	return &Client{dyn: dyn}
}

// Devices returns a client for the Devices in namespace ns; "" means all
// namespaces (List and Watch only).
func (c *Client) Devices(ns string) *DeviceClient {
	return &DeviceClient{ri: c.dyn.Resource(v1beta1.DevicesGVR).Namespace(ns)}
}

// DeviceModels returns a client for the DeviceModels in namespace ns; ""
// means all namespaces (List and Watch only).
func (c *Client) DeviceModels(ns string) *DeviceModelClient {
	return &DeviceModelClient{ri: c.dyn.Resource(v1beta1.DeviceModelsGVR).Namespace(ns)}
}

// object is a pointer to one of the API types.
type object[T any] interface {
	*T
	runtime.Object
}

// toUnstructured converts obj for sending, with apiVersion and kind set.
func toUnstructured(obj runtime.Object, kind string) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %s to unstructured: %w", kind, err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(v1beta1.SchemeGroupVersion.WithKind(kind))
	return u, nil
}

// fromUnstructured converts what the apiserver sent into a new T.
func fromUnstructured[T any, PT object[T]](m map[string]any) (PT, error) {
	out := PT(new(T))
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, out); err != nil {
		return nil, fmt.Errorf("convert unstructured to %T: %w", out, err)
	}
	return out, nil
}

// result converts the answer of a call that returns one object.
func result[T any, PT object[T]](u *unstructured.Unstructured, err error) (PT, error) {
	if err != nil {
		return nil, err
	}
	return fromUnstructured[T, PT](u.Object)
}

// listResult converts the answer of a List.
func listResult[T any, PT object[T]](l *unstructured.UnstructuredList, err error) (PT, error) {
	if err != nil {
		return nil, err
	}
	return fromUnstructured[T, PT](l.UnstructuredContent())
}

// typedWatch converts the objects of w's events to T; Error events carry a
// *metav1.Status.
func typedWatch[T any, PT object[T]](w watch.Interface, err error) (watch.Interface, error) {
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		u, ok := e.Object.(*unstructured.Unstructured)
		if !ok {
			return e, true
		}
		if e.Type == watch.Error {
			status, err := fromUnstructured[metav1.Status](u.Object)
			if err != nil {
				return conversionError(err), true
			}
			e.Object = status
			return e, true
		}
		obj, err := fromUnstructured[T, PT](u.Object)
		if err != nil {
			return conversionError(err), true
		}
		e.Object = obj
		return e, true
	}), nil
}

// conversionError is the Error event for an object that did not convert.
func conversionError(err error) watch.Event {
	return watch.Event{Type: watch.Error, Object: &metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusInternalServerError,
		Reason:  metav1.StatusReasonInternalError,
		Message: err.Error(),
	}}
}
