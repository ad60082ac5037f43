package ctl

import (
	"fmt"

	"github.com/spf13/cobra"

	"counter/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print counterctl's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "counterctl", buildinfo.String())
			return err
		},
	}
}
