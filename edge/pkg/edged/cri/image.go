package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PullImage pulls an image, bounded by Options.PullTimeout, and returns the
// image reference the runtime resolved (its ID or digest). auth may be nil;
// sandboxConfig is the pod's, for runtimes that pull per runtime class.
func (c *Client) PullImage(ctx context.Context, spec *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	resp, err := call(ctx, c.opts.PullTimeout, c.image.PullImage,
		&runtimeapi.PullImageRequest{Image: spec, Auth: auth, SandboxConfig: sandboxConfig}, "pull image "+spec.GetImage())
	return resp.GetImageRef(), err
}

// ImageStatus reports whether the runtime has the image, and its size in
// bytes.
func (c *Client) ImageStatus(ctx context.Context, spec *runtimeapi.ImageSpec) (present bool, size uint64, err error) {
	resp, err := call(ctx, c.opts.Timeout, c.image.ImageStatus,
		&runtimeapi.ImageStatusRequest{Image: spec}, "image status "+spec.GetImage())
	return resp.GetImage() != nil, resp.GetImage().GetSize(), err
}

// ListImages lists every image the runtime has.
func (c *Client) ListImages(ctx context.Context) ([]*runtimeapi.Image, error) {
	resp, err := call(ctx, c.opts.Timeout, c.image.ListImages, &runtimeapi.ListImagesRequest{}, "list images")
	return resp.GetImages(), err
}

// RemoveImage removes an image; removing one that is gone is not an error
// for CRI runtimes.
func (c *Client) RemoveImage(ctx context.Context, spec *runtimeapi.ImageSpec) error {
	_, err := call(ctx, c.opts.Timeout, c.image.RemoveImage,
		&runtimeapi.RemoveImageRequest{Image: spec}, "remove image "+spec.GetImage())
	return err
}

// ImageFsInfo returns the usage of the filesystems images (and, when the
// runtime separates them, containers) are stored on.
func (c *Client) ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	return call(ctx, c.opts.Timeout, c.image.ImageFsInfo, &runtimeapi.ImageFsInfoRequest{}, "image filesystem info")
}
