package edgecontroller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-edge/tether/common/kubemsg"
	"github.com/tether-edge/tether/common/message"
	"golang.org/x/sync/errgroup"
)

// Name is the module's name on the bus.
const Name = "edgecontroller"

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
	Client kubernetes.Interface
	Logger *slog.Logger
	// Hub is the module desired-set changes are sent to; required
	// (cloudhub.Name in cloudcore).
	Hub string
	// KubeletEndpoint, when its Address is set, is where kube-apiserver
	// is to reach every edge node's kubelet (CloudStream): the Node status
	// an edge reports is written with it (see redirectKubelet). Zero
	// writes the edge's own addresses and port.
	KubeletEndpoint KubeletEndpoint
	// Workers is how many goroutines apply upstream messages; messages of
	// one node are applied in order by one of them. 0 means 16.
	Workers int
	// Now is the controller's clock: a Lease's renew time, the last
	// time of a repeated event that carries none, and how long the first
	// load took (logged); nil means time.Now.
	Now func() time.Time
}

func (o *Options) validate() error {
	if o.Bus == nil || o.Client == nil || o.Logger == nil || o.Hub == "" {
		return errors.New("edgecontroller: Bus, Client, Logger and Hub are required")
	}
	if o.KubeletEndpoint.Address != "" && (net.ParseIP(o.KubeletEndpoint.Address) == nil || o.KubeletEndpoint.Port < 1 || o.KubeletEndpoint.Port > 65535) {
		return fmt.Errorf("edgecontroller: KubeletEndpoint %s:%d: want an IP address and a port", o.KubeletEndpoint.Address, o.KubeletEndpoint.Port)
	}
	if o.Workers < 0 {
		return fmt.Errorf("edgecontroller: Workers %d is negative", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// objectRef names an object a pod uses: a configmap, a secret or a
// service account (Kind is a kubemsg type or kindServiceAccount).
type objectRef struct {
	Kind      string
	Namespace string
	Name      string
}

// kindServiceAccount is the objectRef kind of a pod's service account.
const kindServiceAccount = "serviceaccount"

// index answers the questions authorization asks, from the informer
// caches. It is safe for concurrent use.
type index interface {
	// node returns the edge node name, if the informer holds it.
	node(name string) (*corev1.Node, bool)
	// podOnNode returns the pod namespace/name if it is bound to node.
	podOnNode(node, namespace, name string) (*corev1.Pod, bool)
	// uses reports whether a pod bound to node uses ref.
	uses(node string, ref objectRef) bool
}

// Controller is the edgecontroller module.
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

// Group implements beehive.Module: edge modules address kubemsg.Group.
func (c *Controller) Group() string { return kubemsg.Group }

// Synced is closed once every edge node's desired set has been put in the
// hub after the informers' first list; until then a connecting node's
// manifest would be compared with an incomplete set.
func (c *Controller) Synced() <-chan struct{} { return c.down.synced() }

// Denials is how many upstream messages authorization has refused.
func (c *Controller) Denials() uint64 { return c.up.denials.Load() }

// Start watches the cluster and applies upstream messages until ctx ends.
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
