package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/tether-edge/tether/common/config"
	"github.com/tether-edge/tether/common/message"
	"github.com/tether-edge/tether/edge/pkg/metamanager"
)

// dbCommand is `edgecore db list|get|statuses`: a read-only look at the
// local store at metaManager.dbPath, safe while edgecore runs.
func dbCommand(load func() (*config.EdgeCore, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Inspect the local store (read-only; safe while edgecore runs)",
	}
	cmd.AddCommand(dbListCommand(load), dbGetCommand(load), dbStatusesCommand(load))
	return cmd
}

func dbListCommand(load func() (*config.EdgeCore, error)) *cobra.Command {
	var namespace string
	list := &cobra.Command{
		Use:   "list [TYPE]",
		Short: "List the stored objects of TYPE, or of every type with a count per type",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var typ string
			if len(args) == 1 {
				typ = args[0]
			}
			return withStore(load, func(s *metamanager.Store, path string) error {
				records, err := listRecords(cmd, s, typ, namespace)
				if err != nil {
					return err
				}
				return printRecords(cmd.OutOrStdout(), records, typ == "")
			})
		},
	}
	list.Flags().StringVarP(&namespace, "namespace", "n", "", `only this namespace ("null": only cluster-scoped objects)`)
	return list
}

// listRecords lists typ in namespace, where "null" means cluster scope only.
func listRecords(cmd *cobra.Command, s *metamanager.Store, typ, namespace string) ([]metamanager.Record, error) {
	if namespace != message.ClusterScope {
		return s.List(cmd.Context(), typ, namespace)
	}
	all, err := s.List(cmd.Context(), typ, "")
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(r metamanager.Record) bool { return r.Key.Namespace != "" }), nil
}

func dbGetCommand(load func() (*config.EdgeCore, error)) *cobra.Command {
	var namespace, output string
	get := &cobra.Command{
		Use:   "get (RESOURCE | TYPE NAME [-n NAMESPACE])",
		Short: "Print one stored object",
		Long: `Print one stored object's JSON, indented, or YAML with -o yaml.

RESOURCE is <namespace>/<type>/<name>, with the namespace "null" for a
cluster-scoped object (null/node/edge-1). With TYPE NAME and no -n, the
object of that name is looked for in every namespace.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "json" && output != "yaml" {
				return fmt.Errorf(`-o %q: want "json" or "yaml"`, output)
			}
			return withStore(load, func(s *metamanager.Store, path string) error {
				rec, err := getRecord(cmd, s, path, args, namespace)
				if err != nil {
					return err
				}
				return printObject(cmd.OutOrStdout(), rec, output)
			})
		},
	}
	get.Flags().StringVarP(&namespace, "namespace", "n", "", `the object's namespace, with TYPE NAME ("null" for cluster scope)`)
	get.Flags().StringVarP(&output, "output", "o", "json", "json or yaml")
	return get
}

// getRecord finds the object args name: one resource string, or a type and
// a name in namespace (every namespace when namespace is "").
func getRecord(cmd *cobra.Command, s *metamanager.Store, path string, args []string, namespace string) (metamanager.Record, error) {
	ctx := cmd.Context()
	if len(args) == 1 {
		if namespace != "" {
			return metamanager.Record{}, fmt.Errorf("-n goes with TYPE NAME; RESOURCE %q names its namespace", args[0])
		}
		key, err := message.ParseResource(args[0])
		if err != nil {
			return metamanager.Record{}, err
		}
		if key.Node != "" || key.Name == "" {
			return metamanager.Record{}, fmt.Errorf("RESOURCE %q: want <namespace>/<type>/<name>", args[0])
		}
		return s.Get(ctx, key)
	}
	typ, name := args[0], args[1]
	if namespace != "" {
		if namespace == message.ClusterScope {
			namespace = ""
		}
		return s.Get(ctx, message.Resource{Namespace: namespace, Type: typ, Name: name})
	}
	all, err := s.List(ctx, typ, "")
	if err != nil {
		return metamanager.Record{}, err
	}
	var found []metamanager.Record
	var where []string
	for _, r := range all {
		if r.Key.Name == name {
			found = append(found, r)
			where = append(where, nsColumn(r.Key.Namespace))
		}
	}
	switch len(found) {
	case 0:
		return metamanager.Record{}, fmt.Errorf("%s %s not found in %s (in any namespace)", typ, name, path)
	case 1:
		return found[0], nil
	}
	return metamanager.Record{}, fmt.Errorf("%s %q is in namespaces %s; choose one with -n", typ, name, strings.Join(where, ", "))
}

func dbStatusesCommand(load func() (*config.EdgeCore, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "statuses",
		Short: "List the statuses kept for the cloud, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(load, func(s *metamanager.Store, path string) error {
				kept, err := s.Statuses(cmd.Context())
				if err != nil {
					return err
				}
				return printStatuses(cmd.OutOrStdout(), kept)
			})
		},
	}
}

// withStore opens the configured store read-only and runs fn.
func withStore(load func() (*config.EdgeCore, error), fn func(s *metamanager.Store, path string) error) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	path := cfg.MetaManager.DBPath
	s, err := metamanager.OpenStore(metamanager.StoreOptions{
		Path:        path,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		BusyTimeout: cfg.MetaManager.BusyTimeout.Duration,
		ReadOnly:    true,
	})
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no local store at %s (metaManager.dbPath); has edgecore run with this config?", path)
	}
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s, path)
}

// nsColumn shows a cluster-scoped object's namespace as "-".
func nsColumn(ns string) string {
	if ns == "" {
		return "-"
	}
	return ns
}

func printRecords(w io.Writer, records []metamanager.Record, withCounts bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tNAMESPACE\tNAME\tUID\tRESOURCEVERSION")
	counts := map[string]int{}
	for _, r := range records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Key.Type, nsColumn(r.Key.Namespace), r.Key.Name, r.UID, r.ResourceVersion)
		counts[r.Key.Type]++
	}
	if withCounts {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "TYPE\tCOUNT")
		types := make([]string, 0, len(counts))
		for typ := range counts {
			types = append(types, typ)
		}
		slices.Sort(types)
		for _, typ := range types {
			fmt.Fprintf(tw, "%s\t%d\n", typ, counts[typ])
		}
		fmt.Fprintf(tw, "total\t%d\n", len(records))
	}
	return tw.Flush()
}

func printObject(w io.Writer, r metamanager.Record, output string) error {
	if output == "yaml" {
		y, err := yaml.JSONToYAML(r.Content)
		if err != nil {
			return fmt.Errorf("%s: render YAML: %w", r.Key, err)
		}
		_, err = w.Write(y)
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, r.Content, "", "  "); err != nil {
		return fmt.Errorf("%s: stored content is not JSON: %w", r.Key, err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

func printStatuses(w io.Writer, kept []message.Message) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTIME\tOPERATION\tGROUP\tBYTES")
	for _, m := range kept {
		at := time.UnixMilli(m.Header.Timestamp).UTC().Format("2006-01-02T15:04:05.000Z")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", m.Route.Resource, at, m.Route.Operation, m.Route.Group, len(m.Content))
	}
	return tw.Flush()
}
