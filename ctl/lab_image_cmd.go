//go:build !node

package ctl

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"counter/ctl/lab"
)

func newLabImageCmd(lo *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "image",
		Short: "Build (or reuse) the cached Debian 12 image and its layers, without booting anything",
		Long: `Builds the lab's debootstrap base image and its layers into --cache-dir, or
reuses them when they are current (same mirror, packages and customisation),
and prints where they are. "lab up" does the same first; this lets CI and
tests that boot containers from the image build it once, up front.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if err := lab.CheckHost(cmd.Context(), log, true); err != nil {
				return err
			}
			mirror, err := lab.HostMirror("/")
			if err != nil {
				return err
			}
			im := &lab.Images{Dir: lo.cacheDir, Mirror: mirror, Log: log}
			dirs, err := im.BuildAll(cmd.Context())
			if err != nil {
				return err
			}
			names := make([]string, 0, len(dirs))
			for n := range dirs {
				names = append(names, n)
			}
			slices.Sort(names)
			var b strings.Builder
			for _, n := range names {
				fmt.Fprintf(&b, "%-6s %s\n", n, dirs[n])
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), b.String())
			return err
		},
	}
}
