//go:build !node

package ctl

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"counter/ctl/lab/load"
)

// newLabLoadCmd is the chaos suite's load generator, run by the harness in a
// client namespace (`ip netns exec ctr-client-eu counterctl lab load ...`).
func newLabLoadCmd() *cobra.Command {
	var config, out string
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Register users, press once each and poll values as browsers do (run by the chaos suite in a client namespace)",
		Long: `Reads a JSON load config, registers its users through the nodes' HTTP,
prints "registered N", waits for a line on stdin, then has each user press
once (retrying an unknown outcome as the page's user does) while readers
poll /getvalue. Every request is one JSON line in --out.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(config)
			if err != nil {
				return err
			}
			var cfg load.Config
			if err := json.Unmarshal(b, &cfg); err != nil {
				return fmt.Errorf("parse %s: %w", config, err)
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			runErr := load.Run(cmd.Context(), cfg, cmd.InOrStdin(), cmd.OutOrStdout(), f)
			if err := f.Close(); err != nil && runErr == nil {
				runErr = err
			}
			return runErr
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "load config (JSON) written by the chaos harness")
	cmd.Flags().StringVar(&out, "out", "", "file for the records (JSON lines)")
	cmd.MarkFlagRequired("config")
	cmd.MarkFlagRequired("out")
	return cmd
}
