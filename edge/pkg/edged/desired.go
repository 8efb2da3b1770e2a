package edged

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-edge/tether/edge/pkg/edged/staticpod"
)

// nsName names a namespaced object.
type nsName struct{ namespace, name string }

func keyOf(namespace, name string) nsName { return nsName{namespace, name} }

// desired is what the node should run, as MetaManager and the static pod
// folder say, and the objects pods refer to. It is the one piece of state
// the bus loop writes and pod workers read; every method takes the lock.
type desired struct {
	mu sync.RWMutex
	// pods are the pods to run by UID: API pods bound to the node (mirror
	// pods excepted) and static pods.
	pods map[types.UID]*corev1.Pod
	// apiUIDs finds an API pod's UID by name, for deletes that carry none.
	apiUIDs map[nsName]types.UID
	// static are the static pods' UIDs by name.
	static map[nsName]types.UID
	// mirrors are the mirror pods the cloud holds for static pods.
	mirrors map[nsName]*corev1.Pod
	// configMaps and secrets are what the pods use.
	configMaps map[nsName]*corev1.ConfigMap
	secrets    map[nsName]*corev1.Secret
	node       *corev1.Node
}

func newDesired() *desired {
	return &desired{
		pods:       map[types.UID]*corev1.Pod{},
		apiUIDs:    map[nsName]types.UID{},
		static:     map[nsName]types.UID{},
		mirrors:    map[nsName]*corev1.Pod{},
		configMaps: map[nsName]*corev1.ConfigMap{},
		secrets:    map[nsName]*corev1.Secret{},
	}
}

// pod returns the pod with uid, nil when it is not to run.
func (d *desired) pod(uid types.UID) *corev1.Pod {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.pods[uid]
}

// has reports whether the pod with uid is to run.
func (d *desired) has(uid types.UID) bool { return d.pod(uid) != nil }

// uids lists every pod to run.
func (d *desired) uids() []types.UID {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]types.UID, 0, len(d.pods))
	for uid := range d.pods {
		out = append(out, uid)
	}
	return out
}

// all returns every pod to run, oldest first (the order pods are admitted
// in after a restart).
func (d *desired) all() []*corev1.Pod {
	d.mu.RLock()
	out := make([]*corev1.Pod, 0, len(d.pods))
	for _, p := range d.pods {
		out = append(out, p)
	}
	d.mu.RUnlock()
	slices.SortFunc(out, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(string(a.UID), string(b.UID))
	})
	return out
}

// setPod records an API pod. A mirror pod is kept aside: it stands for a
// static pod and is never run. It returns the UID to sync, and the UID of
// an earlier pod of the same name that this one replaced (to stop), if any.
func (d *desired) setPod(p *corev1.Pod) (uid, replaced types.UID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := keyOf(p.Namespace, p.Name)
	if staticpod.IsMirror(p) {
		d.mirrors[k] = p
		return "", ""
	}
	if old, ok := d.apiUIDs[k]; ok && old != p.UID {
		delete(d.pods, old)
		replaced = old
	}
	d.apiUIDs[k] = p.UID
	d.pods[p.UID] = p
	return p.UID, replaced
}

// deletePod forgets the API pod (or mirror pod) named k; it returns the
// UID of the pod to stop, if it was one to run.
func (d *desired) deletePod(k nsName) types.UID {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.mirrors, k)
	uid, ok := d.apiUIDs[k]
	if !ok {
		return ""
	}
	delete(d.apiUIDs, k)
	delete(d.pods, uid)
	return uid
}

// setStatic replaces the static pods; it returns the UIDs that changed
// (new, gone or different).
func (d *desired) setStatic(pods []*corev1.Pod) []types.UID {
	d.mu.Lock()
	defer d.mu.Unlock()
	var changed []types.UID
	next := map[nsName]types.UID{}
	for _, p := range pods {
		next[keyOf(p.Namespace, p.Name)] = p.UID
		if _, ok := d.pods[p.UID]; !ok {
			changed = append(changed, p.UID)
		}
		d.pods[p.UID] = p
	}
	for k, uid := range d.static {
		if next[k] != uid {
			delete(d.pods, uid)
			changed = append(changed, uid)
		}
	}
	d.static = next
	return changed
}

// staticNamed returns the UID of the static pod named k, empty if none.
func (d *desired) staticNamed(k nsName) types.UID {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.static[k]
}

// staticAndMirrors returns the static pods and the mirror pods the cloud holds.
func (d *desired) staticAndMirrors() (static, mirrors []*corev1.Pod) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, uid := range d.static {
		static = append(static, d.pods[uid])
	}
	for _, m := range d.mirrors {
		mirrors = append(mirrors, m)
	}
	return static, mirrors
}

// mirrorOf returns the mirror pod of static pod p, if the cloud has one
// for this version of it.
func (d *desired) mirrorOf(p *corev1.Pod) *corev1.Pod {
	d.mu.RLock()
	defer d.mu.RUnlock()
	m := d.mirrors[keyOf(p.Namespace, p.Name)]
	if m == nil || m.Annotations[staticpod.AnnotationMirror] != p.Annotations[staticpod.AnnotationHash] {
		return nil
	}
	return m
}

// setObject records a configmap or secret; it returns the pods using it.
func (d *desired) setConfigMap(cm *corev1.ConfigMap) []types.UID {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.configMaps[keyOf(cm.Namespace, cm.Name)] = cm
	return d.usersLocked(cm.Namespace, cm.Name, false)
}

func (d *desired) setSecret(s *corev1.Secret) []types.UID {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.secrets[keyOf(s.Namespace, s.Name)] = s
	return d.usersLocked(s.Namespace, s.Name, true)
}

func (d *desired) deleteConfigMap(k nsName) []types.UID {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.configMaps, k)
	return d.usersLocked(k.namespace, k.name, false)
}

func (d *desired) deleteSecret(k nsName) []types.UID {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.secrets, k)
	return d.usersLocked(k.namespace, k.name, true)
}

// usersLocked lists the pods whose volumes or env use the configmap (or
// secret) namespace/name.
func (d *desired) usersLocked(namespace, name string, secret bool) []types.UID {
	var out []types.UID
	for uid, p := range d.pods {
		if p.Namespace == namespace && slices.Contains(podRefs(p, secret), name) {
			out = append(out, uid)
		}
	}
	return out
}

func (d *desired) setNode(n *corev1.Node) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.node = n
}

// nodeObject returns the Node as the cloud last sent it; nil before.
func (d *desired) nodeObject() *corev1.Node {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.node
}

// ConfigMap implements containerspec.Objects.
func (d *desired) ConfigMap(namespace, name string) (*corev1.ConfigMap, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.configMaps[keyOf(namespace, name)], nil
}

// Secret implements containerspec.Objects.
func (d *desired) Secret(namespace, name string) (*corev1.Secret, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.secrets[keyOf(namespace, name)], nil
}

// podRefs lists the configmaps (or, with secret, the secrets) pod uses in
// its volumes, env and envFrom.
func podRefs(p *corev1.Pod, secret bool) []string {
	var out []string
	add := func(name string) {
		if name != "" {
			out = append(out, name)
		}
	}
	for _, v := range p.Spec.Volumes {
		switch {
		case !secret && v.ConfigMap != nil:
			add(v.ConfigMap.Name)
		case secret && v.Secret != nil:
			add(v.Secret.SecretName)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if !secret && s.ConfigMap != nil {
					add(s.ConfigMap.Name)
				}
				if secret && s.Secret != nil {
					add(s.Secret.Name)
				}
			}
		}
	}
	containers := slices.Concat(p.Spec.InitContainers, p.Spec.Containers)
	for _, c := range containers {
		for _, e := range c.EnvFrom {
			if !secret && e.ConfigMapRef != nil {
				add(e.ConfigMapRef.Name)
			}
			if secret && e.SecretRef != nil {
				add(e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if !secret && e.ValueFrom.ConfigMapKeyRef != nil {
				add(e.ValueFrom.ConfigMapKeyRef.Name)
			}
			if secret && e.ValueFrom.SecretKeyRef != nil {
				add(e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	if secret {
		for _, s := range p.Spec.ImagePullSecrets {
			add(s.Name)
		}
	}
	return out
}
