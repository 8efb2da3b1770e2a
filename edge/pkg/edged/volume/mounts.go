package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Mounts turns c's volumeMounts into CRI mounts over v, the paths SetUp
// returned for pod. ConfigMap, secret, downwardAPI and projected volumes
// are always read-only, as on a kubelet.
//
// A subPath mount binds one path inside the volume: it must be relative
// without "..", and must exist, except in an emptyDir, where missing
// folders are made. Its host path is resolved through symlinks and must
// stay inside the volume. For configMap, secret, downwardAPI and projected
// volumes that is the file in the current ..data folder, so, as on a
// kubelet, a subPath mount keeps the content it had when the container
// was created and does not follow updates.
func (v Volumes) Mounts(pod *corev1.Pod, c *corev1.Container) ([]*runtimeapi.Mount, error) {
	specs := make(map[string]*corev1.Volume, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		specs[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	mounts := make([]*runtimeapi.Mount, 0, len(c.VolumeMounts))
	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		m, err := v.mount(specs[vm.Name], c, vm)
		if err != nil {
			return nil, fmt.Errorf("container %s: mount of volume %s at %s: %w", c.Name, vm.Name, vm.MountPath, err)
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

func (v Volumes) mount(spec *corev1.Volume, c *corev1.Container, vm *corev1.VolumeMount) (*runtimeapi.Mount, error) {
	host, ok := v[vm.Name]
	if !ok || spec == nil {
		return nil, errors.New("no such volume is set up for the pod")
	}
	if !filepath.IsAbs(vm.MountPath) {
		return nil, errors.New("mountPath is not absolute")
	}
	if vm.SubPathExpr != "" {
		return nil, errors.New("subPathExpr is not supported on edge nodes")
	}
	prop, err := propagation(vm.MountPropagation, c)
	if err != nil {
		return nil, err
	}
	kind, _ := payloadKind(spec)
	if vm.SubPath != "" {
		if host, err = subPathHost(host, vm.SubPath, spec.EmptyDir != nil); err != nil {
			return nil, err
		}
	}
	return &runtimeapi.Mount{
		ContainerPath: vm.MountPath,
		HostPath:      host,
		Readonly:      vm.ReadOnly || kind != "",
		Propagation:   prop,
	}, nil
}

// propagation maps mountPropagation; Bidirectional needs a privileged
// container, as on a kubelet.
func propagation(p *corev1.MountPropagationMode, c *corev1.Container) (runtimeapi.MountPropagation, error) {
	if p == nil {
		return runtimeapi.MountPropagation_PROPAGATION_PRIVATE, nil
	}
	switch *p {
	case corev1.MountPropagationNone:
		return runtimeapi.MountPropagation_PROPAGATION_PRIVATE, nil
	case corev1.MountPropagationHostToContainer:
		return runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER, nil
	case corev1.MountPropagationBidirectional:
		sc := c.SecurityContext
		if sc == nil || sc.Privileged == nil || !*sc.Privileged {
			return 0, errors.New("mountPropagation Bidirectional needs a privileged container")
		}
		return runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL, nil
	}
	return 0, fmt.Errorf("unknown mountPropagation %q", *p)
}

// subPathHost resolves sub inside the volume at root; create makes the
// missing folders of sub (emptyDir).
func subPathHost(root, sub string, create bool) (string, error) {
	if filepath.IsAbs(sub) || !filepath.IsLocal(sub) || hasDotDot(sub) {
		return "", fmt.Errorf("subPath %q must be relative and without '..'", sub)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("subPath %q: %w", sub, err)
	}
	full := filepath.Join(realRoot, sub)
	if create {
		if err := makeDirsNoFollow(realRoot, sub); err != nil {
			return "", fmt.Errorf("subPath %q: %w", sub, err)
		}
	}
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", fmt.Errorf("subPath %q: %w", sub, err)
	}
	if resolved != realRoot && !strings.HasPrefix(resolved, realRoot+string(filepath.Separator)) {
		return "", fmt.Errorf("subPath %q leads out of the volume, to %s", sub, resolved)
	}
	return resolved, nil
}

func hasDotDot(p string) bool {
	for _, seg := range strings.Split(filepath.ToSlash(p), "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// makeDirsNoFollow makes the missing folders of sub under root with root's
// mode. It refuses to create below a symlink: a container could have put
// one there to make Edged create folders elsewhere on the host. An
// existing path is left as it is (Mounts then checks where it leads).
func makeDirsNoFollow(root, sub string) error {
	if _, err := os.Stat(filepath.Join(root, sub)); err == nil {
		return nil
	}
	info, err := os.Stat(root)
	if err != nil {
		return err
	}
	dir := root
	for _, seg := range strings.Split(filepath.ToSlash(filepath.Clean(sub)), "/") {
		dir = filepath.Join(dir, seg)
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(dir, info.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chmod(dir, info.Mode().Perm()); err != nil { // past the umask
				return err
			}
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symlink; not creating folders below it", dir)
		case !fi.IsDir():
			return fmt.Errorf("%s is not a folder", dir)
		}
	}
	return nil
}
