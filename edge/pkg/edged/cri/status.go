package cri

import (
	"context"
	"encoding/json"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// SandboxImage returns the image the runtime runs pod sandboxes from (the
// pause image), read from its verbose status: containerd 1.6 reports it
// as config.sandboxImage, 2.x as config.pinnedImages.sandbox. Image
// garbage collection must never remove it, and containerd 1.6 does not
// mark it pinned. Empty when the runtime does not say: containerd 2.4
// does not, but it marks the image pinned in ListImages.
func (c *Client) SandboxImage(ctx context.Context) (string, error) {
	ctx, cancel := c.callCtx(ctx)
	defer cancel()
	st, err := c.runtime.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		return "", fmt.Errorf("cri: status: %w", err)
	}
	return sandboxImageOf(st.GetInfo()["config"]), nil
}

// sandboxImageOf finds the sandbox image in containerd's verbose config.
func sandboxImageOf(config string) string {
	var c struct {
		SandboxImage string `json:"sandboxImage"`
		PinnedImages struct {
			Sandbox string `json:"sandbox"`
		} `json:"pinnedImages"`
	}
	if json.Unmarshal([]byte(config), &c) != nil {
		return ""
	}
	if c.SandboxImage != "" {
		return c.SandboxImage
	}
	return c.PinnedImages.Sandbox
}
