package edgecontroller

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tether-edge/tether/common/kubemsg"
)

// podRefs lists the configmaps and secrets pod uses, each once, in the
// order first met: volumes (configMap, secret, projected sources), then
// the init, app and ephemeral containers' envFrom and env, then
// imagePullSecrets. Optional references are listed too: if the object
// exists the edge gets it. An empty name is skipped.
func podRefs(pod *corev1.Pod) []objectRef {
	c := refCollector{ns: pod.Namespace}
	for i := range pod.Spec.Volumes {
		c.volume(&pod.Spec.Volumes[i])
	}
	for i := range pod.Spec.InitContainers {
		c.env(pod.Spec.InitContainers[i].EnvFrom, pod.Spec.InitContainers[i].Env)
	}
	for i := range pod.Spec.Containers {
		c.env(pod.Spec.Containers[i].EnvFrom, pod.Spec.Containers[i].Env)
	}
	for i := range pod.Spec.EphemeralContainers {
		c.env(pod.Spec.EphemeralContainers[i].EnvFrom, pod.Spec.EphemeralContainers[i].Env)
	}
	for _, s := range pod.Spec.ImagePullSecrets {
		c.add(kubemsg.TypeSecret, s.Name)
	}
	return c.refs
}

// podUses is podRefs plus the pod's service account: everything a pod
// entitles its node to.
func podUses(pod *corev1.Pod) []objectRef {
	return append(podRefs(pod), objectRef{Kind: kindServiceAccount, Namespace: pod.Namespace, Name: podServiceAccount(pod)})
}

// sendable reports whether ref names an object the edge is sent (a
// configmap or a secret), as opposed to one it is only entitled to.
func sendable(ref objectRef) bool {
	return ref.Kind == kubemsg.TypeConfigMap || ref.Kind == kubemsg.TypeSecret
}

// refCollector gathers a pod's references without duplicates.
type refCollector struct {
	ns   string
	refs []objectRef
}

func (c *refCollector) add(kind, name string) {
	if name == "" {
		return
	}
	ref := objectRef{Kind: kind, Namespace: c.ns, Name: name}
	for _, r := range c.refs { // pods reference a handful: a scan beats a map
		if r == ref {
			return
		}
	}
	c.refs = append(c.refs, ref)
}

func (c *refCollector) volume(v *corev1.Volume) {
	switch {
	case v.ConfigMap != nil:
		c.add(kubemsg.TypeConfigMap, v.ConfigMap.Name)
	case v.Secret != nil:
		c.add(kubemsg.TypeSecret, v.Secret.SecretName)
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			if s.ConfigMap != nil {
				c.add(kubemsg.TypeConfigMap, s.ConfigMap.Name)
			}
			if s.Secret != nil {
				c.add(kubemsg.TypeSecret, s.Secret.Name)
			}
		}
	}
}

func (c *refCollector) env(from []corev1.EnvFromSource, env []corev1.EnvVar) {
	for _, f := range from {
		if f.ConfigMapRef != nil {
			c.add(kubemsg.TypeConfigMap, f.ConfigMapRef.Name)
		}
		if f.SecretRef != nil {
			c.add(kubemsg.TypeSecret, f.SecretRef.Name)
		}
	}
	for _, e := range env {
		if e.ValueFrom == nil {
			continue
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			c.add(kubemsg.TypeConfigMap, r.Name)
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			c.add(kubemsg.TypeSecret, r.Name)
		}
	}
}
