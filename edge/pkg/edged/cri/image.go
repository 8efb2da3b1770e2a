package cri

import (
	"context"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PullImage pulls an image, bounded by Options.PullTimeout, and returns the
// image reference the runtime resolved (its ID or digest). auth may be nil;
// sandboxConfig is the pod's, for runtimes that pull per runtime class.
func (c *Client) PullImage(ctx context.Context, spec *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.PullTimeout)
	defer cancel()
	resp, err := c.image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec, Auth: auth, SandboxConfig: sandboxConfig})
	if err != nil {
		return "", fmt.Errorf("pull image %s: %w", spec.GetImage(), err)
	}
	return resp.GetImageRef(), nil
}

// ImageStatus reports whether the runtime has the image, and its size in
// bytes.
func (c *Client) ImageStatus(ctx context.Context, spec *runtimeapi.ImageSpec) (present bool, size uint64, err error) {
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	resp, err := c.image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec})
	if err != nil {
		return false, 0, fmt.Errorf("image status %s: %w", spec.GetImage(), err)
	}
	if resp.GetImage() == nil {
		return false, 0, nil
	}
	return true, resp.GetImage().GetSize(), nil
}

// ListImages lists every image the runtime has.
func (c *Client) ListImages(ctx context.Context) ([]*runtimeapi.Image, error) {
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	resp, err := c.image.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	return resp.GetImages(), nil
}

// RemoveImage removes an image; removing one that is gone is not an error
// for CRI runtimes.
func (c *Client) RemoveImage(ctx context.Context, spec *runtimeapi.ImageSpec) error {
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	if _, err := c.image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec}); err != nil {
		return fmt.Errorf("remove image %s: %w", spec.GetImage(), err)
	}
	return nil
}

// ImageFsInfo returns the usage of the filesystems images (and, when the
// runtime separates them, containers) are stored on.
func (c *Client) ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	resp, err := c.image.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("image filesystem info: %w", err)
	}
	return resp, nil
}
