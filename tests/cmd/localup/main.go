// Command localup runs a whole Tether system on this machine for `make up`:
// etcd, kube-apiserver, kube-scheduler and kube-controller-manager (from
// tests/testenv, as the tests start them), then cloudcore and edgecore.
//
//	localup -dir _output/up -bin bin up     start (or report what is running), print how to reach it
//	localup -dir _output/up down            stop everything
//
// `up` starts a supervisor (`serve`) in its own session that owns every
// process; `down` sends it SIGTERM and it stops them in reverse order. Logs
// and generated files live under -dir.
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
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: localup [-dir D] [-bin B] up|down|serve")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	abs, err := filepath.Abs(*dir)
	if err == nil {
		*dir = abs
		*bin, err = filepath.Abs(*bin)
	}
	if err == nil {
		err = dispatch(flag.Arg(0), *dir, *bin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localup:", err)
		os.Exit(1)
	}
}

func dispatch(verb, dir, bin string) error {
	switch verb {
	case "up":
		return up(dir, bin)
	case "down":
		return down(dir)
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, dir, bin)
	default:
		return errors.New("unknown verb " + verb + ": want up, down or serve")
	}
}
