package edgecontroller

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/util/retry"
)

// nodeRoleAgent is, with edgeNodeLabel (the label the downstream half
// selects edge Nodes by), the role label register puts on every edge Node.
const nodeRoleAgent = "node-role.kubernetes.io/agent"

// register creates Node name from what the edge sent, or, when it exists,
// adds the edge labels and the labels the edge sent to it and leaves the
// rest alone. It answers the resulting Node.
func (u *upstream) register(ctx context.Context, name string, sent *corev1.Node) ([]byte, error) {
	nodes := u.opts.Client.CoreV1().Nodes()
	sent = sent.DeepCopy()
	sent.Status = redirectKubelet(sent.Status, u.opts.KubeletEndpoint)
	want := nodeToRegister(name, sent)
	got, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		u.log.Info("registered node", "node", name)
		return objectJSON(got)
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create node %s: %w", name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := nodes.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !setLabels(&cur.ObjectMeta, want.Labels) {
			got = cur
			return nil
		}
		got, err = nodes.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("label node %s: %w", name, err)
	}
	return objectJSON(got)
}

// nodeToRegister is the Node to create for node name from the one the
// edge sent: its labels (plus the edge labels), annotations, spec and
// status, under the name the certificate gives.
func nodeToRegister(name string, sent *corev1.Node) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      maps.Clone(sent.Labels),
			Annotations: maps.Clone(sent.Annotations),
		},
		Spec:   *sent.Spec.DeepCopy(),
		Status: *sent.Status.DeepCopy(),
	}
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels[edgeNodeLabel] = ""
	n.Labels[nodeRoleAgent] = ""
	return n
}

// setLabels sets want's labels on m and reports whether that changed m.
func setLabels(m *metav1.ObjectMeta, want map[string]string) bool {
	changed := false
	for k, v := range want {
		if cur, ok := m.Labels[k]; ok && cur == v {
			continue
		}
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		m.Labels[k] = v
		changed = true
	}
	return changed
}

// patchNodeStatus patches the status of Node name with what the edge
// reported, as the kubelet does. A Node that does not exist is logged: the
// edge registers it when it connects.
func (u *upstream) patchNodeStatus(ctx context.Context, name string, reported corev1.NodeStatus) {
	old, err := u.getNode(ctx, name)
	if err != nil {
		u.logNodeStatusError(name, err)
		return
	}
	patch, err := nodeStatusPatch(old, redirectKubelet(reported, u.opts.KubeletEndpoint))
	if err != nil {
		u.log.Error("node status patch not computed", "node", name, "err", err)
		return
	}
	if patch == nil {
		return
	}
	if _, err := u.opts.Client.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		u.logNodeStatusError(name, err)
	}
}

// getNode returns the index's Node name, else the apiserver's. The
// index's belongs to the cache: do not change it.
func (u *upstream) getNode(ctx context.Context, name string) (*corev1.Node, error) {
	if n, ok := u.idx.node(name); ok {
		return n, nil
	}
	return u.opts.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
}

func (u *upstream) logNodeStatusError(name string, err error) {
	if apierrors.IsNotFound(err) {
		u.log.Info("node status dropped: the Node does not exist yet (the edge registers it when it connects; the next status applies)", "node", name)
		return
	}
	u.log.Info("node status not patched", "node", name, "err", err)
}

// nodeStatusPatch is the strategic merge patch that gives old's status the
// fields the edge owns from reported (see setEdgeNodeStatus), computed as
// the kubelet does (k8s.io/component-helpers/node/util PatchNodeStatus);
// nil when nothing changes.
func nodeStatusPatch(old *corev1.Node, reported corev1.NodeStatus) ([]byte, error) {
	oldJSON, err := json.Marshal(old)
	if err != nil {
		return nil, fmt.Errorf("encode node %s: %w", old.Name, err)
	}
	updated := old.DeepCopy()
	setEdgeNodeStatus(&updated.Status, reported)
	// Addresses are wrongly tagged patchStrategy=merge (keyed by type,
	// though a node may have two of one type): replace them whole.
	replaceAddresses := len(old.Status.Addresses) > 0 &&
		!equality.Semantic.DeepEqual(old.Status.Addresses, updated.Status.Addresses)
	diff := updated.DeepCopy()
	if replaceAddresses {
		diff.Status.Addresses = old.Status.Addresses
	}
	newJSON, err := json.Marshal(diff)
	if err != nil {
		return nil, fmt.Errorf("encode node %s: %w", old.Name, err)
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(oldJSON, newJSON, corev1.Node{})
	if err != nil {
		return nil, fmt.Errorf("node %s status patch: %w", old.Name, err)
	}
	if replaceAddresses {
		return withReplacedAddresses(patch, updated.Status.Addresses)
	}
	if string(patch) == "{}" {
		return nil, nil
	}
	return patch, nil
}

// withReplacedAddresses adds to patch a status.addresses list that
// replaces the Node's whole list (a "$patch": "replace" element).
func withReplacedAddresses(patch []byte, addrs []corev1.NodeAddress) ([]byte, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, fmt.Errorf("decode node status patch: %w", err)
	}
	status := map[string]json.RawMessage{}
	if raw, ok := p["status"]; ok {
		if err := json.Unmarshal(raw, &status); err != nil {
			return nil, fmt.Errorf("decode node status patch: %w", err)
		}
	}
	items := make([]any, 0, len(addrs)+1)
	for _, a := range addrs {
		items = append(items, a)
	}
	items = append(items, map[string]string{"$patch": "replace"})
	var err error
	if status["addresses"], err = json.Marshal(items); err != nil {
		return nil, fmt.Errorf("encode node addresses: %w", err)
	}
	if p["status"], err = json.Marshal(status); err != nil {
		return nil, fmt.Errorf("encode node status patch: %w", err)
	}
	return json.Marshal(p)
}

// setEdgeNodeStatus sets in st the fields the edge owns, from reported:
// conditions by type and capacity and allocatable by resource (the
// cloud's own entries, such as an extended resource an operator
// advertised, stay), and addresses, nodeInfo, daemonEndpoints and images
// whole. Phase, volumes and the rest are left alone.
func setEdgeNodeStatus(st *corev1.NodeStatus, reported corev1.NodeStatus) {
	for _, c := range reported.Conditions {
		setNodeCondition(st, c)
	}
	st.Capacity = withResources(st.Capacity, reported.Capacity)
	st.Allocatable = withResources(st.Allocatable, reported.Allocatable)
	st.Addresses = reported.Addresses
	st.NodeInfo = reported.NodeInfo
	st.DaemonEndpoints = reported.DaemonEndpoints
	st.Images = reported.Images
}

func setNodeCondition(st *corev1.NodeStatus, c corev1.NodeCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// withResources returns have with set's quantities set in it.
func withResources(have, set corev1.ResourceList) corev1.ResourceList {
	if len(set) == 0 {
		return have
	}
	out := have.DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	for k, v := range set {
		out[k] = v.DeepCopy()
	}
	return out
}

// KubeletEndpoint is an address and port where kube-apiserver reaches an
// edge node's kubelet.
type KubeletEndpoint struct {
	Address string // an IP address
	Port    int32
}

// redirectKubelet returns st with ep as its kubelet: ep's address is the
// only InternalIP and ep's port the kubelet port, so kube-apiserver takes
// it for the node's address whatever its --kubelet-preferred-address-types
// order. The edge's own IP addresses stay, as ExternalIP; its host name
// goes, since the apiserver would prefer it by default. A zero ep returns
// st unchanged.
func redirectKubelet(st corev1.NodeStatus, ep KubeletEndpoint) corev1.NodeStatus {
	if ep.Address == "" {
		return st
	}
	addrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ep.Address}}
	seen := map[string]bool{ep.Address: true}
	for _, a := range st.Addresses {
		own := a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP
		if own && !seen[a.Address] {
			seen[a.Address] = true
			addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: a.Address})
		}
	}
	st.Addresses = addrs
	st.DaemonEndpoints.KubeletEndpoint.Port = ep.Port
	return st
}
