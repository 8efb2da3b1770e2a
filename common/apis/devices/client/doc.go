// Package client is a typed client for Devices and DeviceModels
// (devices.kubeedge.io/v1beta1) over a dynamic.Interface, so that no
// generated clientset is needed.
//
// New(dyn).Devices(ns) and .DeviceModels(ns) return clients for one
// namespace; ns "" lists and watches all namespaces. Every call is one
// request through dyn: objects go out and come back through
// runtime.DefaultUnstructuredConverter, with apiVersion and kind set.
// Errors from the apiserver are returned unchanged, so apierrors.IsNotFound,
// IsConflict, IsInvalid and IsAlreadyExists work on them; a conversion
// failure is a wrapped error naming the step.
//
// Watch returns events whose objects are *v1beta1.Device (or
// *v1beta1.DeviceModel); an Error event carries a *metav1.Status, also when
// an object could not be converted. Stop the watch, or cancel its context,
// to end it.
//
// A Client holds no state beyond dyn and is safe for concurrent use.
package client
