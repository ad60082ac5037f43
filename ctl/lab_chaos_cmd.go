//go:build !node

package ctl

import (
	"github.com/spf13/cobra"
)

func newLabSSHCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "ssh NODE [-- CMD [ARG...]]",
		Short: "SSH to a lab node as root (lab key, host key verified)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			c, err := o.lab(cmd).SSHCommand(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			return runAttached(cmd, c)
		},
	}
}

func newLabExecCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "exec CLIENT -- CMD [ARG...]",
		Short: "Run a command in a client's network namespace (e.g. ping, curl)",
		Long: `Runs CMD inside the network namespace of CLIENT (client-eu ... client-oceania),
to measure the cluster from that continent; any lab member's name works too.
Put -- before the command so its flags are not read as counterctl's.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			c, err := o.lab(cmd).ExecCommand(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			return runAttached(cmd, c)
		},
	}
}

func newLabKillCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "kill NODE",
		Short: "Cut a node's power (SIGKILL its PID 1: the whole container dies at once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Kill(cmd.Context(), args[0])
		},
	}
}

func newLabStartCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "start NODE",
		Short: "Boot a killed node again on its existing overlay",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Start(cmd.Context(), args[0])
		},
	}
}

func newLabPartitionCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "partition NODE",
		Short: "Cut all of a node's links; the node keeps running",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Partition(cmd.Context(), args[0])
		},
	}
}

func newLabHealCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "heal [NODE]",
		Short: "Restore a partitioned node's links (all nodes without NODE)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return o.lab(cmd).Heal(cmd.Context(), name)
		},
	}
}
