package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tether-edge/tether/cloud/pkg/pki"
	"github.com/tether-edge/tether/common/config"
)

// tokenCommand is `cloudcore token create|list|revoke`: join tokens kept as
// Secrets in cloudHub.namespace, for the cluster named by kubeAPI (or by
// --kubeconfig, which overrides kubeAPI.kubeconfig).
func tokenCommand(loadConfig func() (*config.CloudCore, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke join tokens for edge nodes",
		Long: `Create, list and revoke the join tokens edge nodes join with.

Tokens are Secrets in cloudHub.namespace (default tether-system) of the cluster
cloudcore's config names in kubeAPI.kubeconfig (empty: the pod's service
account, when run inside cloudcore's pod). --kubeconfig overrides it, so an
admin needs no config file:

  cloudcore token create --kubeconfig ~/.kube/config
  kubectl -n tether-system exec deploy/cloudcore -- cloudcore --config /etc/tether/cloudcore.yaml token create`,
	}
	var kubeconfig string
	cmd.PersistentFlags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster (overrides kubeAPI.kubeconfig)")
	load := func() (*config.CloudCore, error) {
		cfg, err := loadConfig()
		if err != nil {
			return nil, err
		}
		if kubeconfig != "" {
			cfg.KubeAPI.Kubeconfig = kubeconfig
		}
		return cfg, nil
	}
	var ttl time.Duration
	var description string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a join token and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTokens(cmd.Context(), load, func(cfg *config.CloudCore, t *pki.Tokens) error {
				if ttl == 0 {
					ttl = cfg.CloudHub.TokenTTL.Duration
				}
				tok, info, err := t.Create(cmd.Context(), ttl, description)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), tok.String())
				fmt.Fprintf(cmd.ErrOrStderr(), "token %s expires %s; join a node with:\n  %s\n",
					info.ID, info.Expires.Format(time.RFC3339), joinCommandLine(cfg.CloudHub, tok.String()))
				return nil
			})
		},
	}
	create.Flags().DurationVar(&ttl, "ttl", 0, "lifetime (default cloudHub.tokenTTL)")
	create.Flags().StringVar(&description, "description", "", "a note kept with the token")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the tokens that can still be used",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withTokens(cmd.Context(), load, func(_ *config.CloudCore, t *pki.Tokens) error {
				infos, err := t.List(cmd.Context())
				if err != nil {
					return err
				}
				return printTokens(cmd.OutOrStdout(), infos)
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by its ID (the part before the first dot)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTokens(cmd.Context(), load, func(_ *config.CloudCore, t *pki.Tokens) error {
				if err := t.Revoke(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "token %s revoked\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// withTokens connects to the cluster and the CA as cloudcore does and runs fn.
func withTokens(ctx context.Context, load func() (*config.CloudCore, error), fn func(*config.CloudCore, *pki.Tokens) error) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	kube, err := kubeClient(cfg.KubeAPI)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ca, err := loadCA(ctx, cfg.CloudHub, kube, log)
	if err != nil {
		return err
	}
	tokens, err := pki.NewTokens(pki.TokenOptions{Client: kube, Namespace: cfg.CloudHub.Namespace, CAHash: ca.Hash()})
	if err != nil {
		return err
	}
	return fn(cfg, tokens)
}

// joinCommandLine is the edgecore join command for token: the first
// advertised address, with the join port when it is not the default.
func joinCommandLine(h config.CloudHub, token string) string {
	cloud := "<cloudcore address>"
	if len(h.AdvertiseAddresses) > 0 {
		cloud = h.AdvertiseAddresses[0]
	}
	if _, port, err := net.SplitHostPort(h.HTTPS.Address); err == nil && port != defaultJoinPort {
		cloud = net.JoinHostPort(cloud, port)
	} else if strings.Contains(cloud, ":") {
		cloud = "[" + cloud + "]"
	}
	return fmt.Sprintf("edgecore join --cloud %s --token %s", cloud, token)
}

// defaultJoinPort is the port edgecore join assumes when --cloud names none.
const defaultJoinPort = "10002"

func printTokens(w io.Writer, infos []pki.TokenInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEXPIRES\tDESCRIPTION")
	for _, i := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", i.ID, i.Expires.Format(time.RFC3339), i.Description)
	}
	return tw.Flush()
}
