package devicecontroller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/tether-edge/tether/common/apis/devices/client"
	"github.com/tether-edge/tether/common/devicemsg"
	"github.com/tether-edge/tether/common/message"
)

// Name is the module's name on the bus.
const Name = "devicecontroller"

// Bus is what the controller needs of beehive.Bus.
type Bus interface {
	Receive(ctx context.Context, module string) (message.Message, error)
	Send(ctx context.Context, m message.Message) error
	SendResponse(ctx context.Context, resp message.Message) error
}

// Options configure a Controller.
type Options struct {
	// Bus, Client and Logger are required.
	Bus    Bus
	Client *client.Client
	Logger *slog.Logger
	// Hub is the module desired-set changes are sent to; required
	// (cloudhub.Name in cloudcore).
	Hub string
	// Workers is how many goroutines apply upstream messages; messages of
	// one device are applied in order by one of them. 0 means 4.
	Workers int
}

func (o *Options) validate() error {
	if o.Bus == nil || o.Client == nil || o.Logger == nil || o.Hub == "" {
		return errors.New("devicecontroller: Bus, Client, Logger and Hub are required")
	}
	if o.Workers < 0 {
		return fmt.Errorf("devicecontroller: Workers %d is negative", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = 4
	}
	return nil
}

// Controller is the devicecontroller module.
type Controller struct {
	down *downstream
	up   *upstream
}

// New validates o.
func New(o Options) (*Controller, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	log := o.Logger.With("module", Name)
	down := newDownstream(o, log)
	return &Controller{down: down, up: newUpstream(o, log, down)}, nil
}

// Name implements beehive.Module.
func (c *Controller) Name() string { return Name }

// Group implements beehive.Module: edge modules address devicemsg.Group.
func (c *Controller) Group() string { return devicemsg.Group }

// Synced is closed once both informers' first lists have been handled and
// their messages sent to the hub.
func (c *Controller) Synced() <-chan struct{} { return c.down.synced }

// Denials is how many upstream messages authorization has refused.
func (c *Controller) Denials() uint64 { return c.up.denials.Load() }

// Start watches Devices and DeviceModels and applies upstream messages
// until ctx ends; a failure of either half stops both.
func (c *Controller) Start(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.down.run(gctx) })
	g.Go(func() error { return c.up.run(gctx) })
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}
