// Command localup runs a whole Tether system on this machine for `make up`:
// etcd, kube-apiserver, kube-scheduler and kube-controller-manager (from
// tests/testenv, as the tests start them), then cloudcore and edgecore.
//
//	localup -dir _output/up -bin bin -kubeconfig _output/kubeconfig up   start (or report what is running), print how to reach it
//	localup -dir _output/up -kubeconfig _output/kubeconfig down          stop everything
//
// `up` starts a supervisor (`serve`) in its own session that owns every
// process, and repeats the supervisor's progress until the system is ready;
// `down` sends it SIGTERM and it stops them in reverse order. Logs and
// generated files live under -dir; the admin kubeconfig is written to
// -kubeconfig, and a kubectl of the control plane's version is linked into
// the bin folder next to it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	dir := flag.String("dir", "_output/up", "state folder: logs, kubeconfig, pid")
	bin := flag.String("bin", "bin", "folder holding cloudcore and edgecore")
	kubeconfig := flag.String("kubeconfig", "", "where to write the admin kubeconfig (default: <dir>/kubeconfig)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: localup [-dir D] [-bin B] [-kubeconfig F] up|down|serve")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *kubeconfig == "" {
		*kubeconfig = filepath.Join(*dir, "kubeconfig")
	}
	o, err := absOptions(options{dir: *dir, bin: *bin, kubeconfig: *kubeconfig})
	if err == nil {
		err = dispatch(flag.Arg(0), o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localup:", err)
		os.Exit(1)
	}
}

// options are the command line's paths, absolute.
type options struct {
	dir, bin, kubeconfig string
}

func absOptions(o options) (options, error) {
	for _, p := range []*string{&o.dir, &o.bin, &o.kubeconfig} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return o, err
		}
		*p = abs
	}
	return o, nil
}

// args are the flags that make a supervisor see the same options.
func (o options) args() []string {
	return []string{"-dir", o.dir, "-bin", o.bin, "-kubeconfig", o.kubeconfig}
}

// kubectlLink is where up links the control plane's kubectl.
func (o options) kubectlLink() string {
	return filepath.Join(filepath.Dir(o.kubeconfig), "bin", "kubectl")
}

func dispatch(verb string, o options) error {
	switch verb {
	case "up":
		return up(o)
	case "down":
		return down(o)
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, o)
	default:
		return errors.New("unknown verb " + verb + ": want up, down or serve")
	}
}
