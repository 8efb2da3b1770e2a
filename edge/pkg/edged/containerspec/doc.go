// Package containerspec turns a pod's container spec into what the runtime
// is asked to run: the environment (values, configmap and secret
// references, envFrom, the downward API, $(VAR) expansion) and the Linux
// resources (CPU shares and quota, memory limit). Plain functions over
// values; the objects a container refers to come through Objects, which
// Edged backs with MetaManager, so a pod starts from the local store when
// the cloud is away.
//
// A reference that cannot be satisfied (a missing configmap, secret or
// key that is not optional, an unsupported field path) is an error of
// type *ConfigError naming it; Edged reports it as the container's
// CreateContainerConfigError and does not start the container.
package containerspec
