// Package config holds the configuration files of both binaries: the
// CloudCore and EdgeCore kinds, their defaults, strict loading and validation.
//
// A file is YAML with apiVersion and kind:
//
//	apiVersion: config.tether.io/v1alpha1
//	kind: EdgeCore
//	nodeName: edge-1
//
// Loading is strict: an unknown or duplicated field is an error that names its
// path ("health.adress"), and Validate reports every invalid value with its
// path and the reason. Fields left out keep their defaults, so a file only
// needs what differs from `--defaultconfig`.
//
// The types are plain values with no behaviour beyond defaults and
// validation; each binary's main turns them into module options.
package config
