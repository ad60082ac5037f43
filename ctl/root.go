// Package ctl is counterctl's command tree.
package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// ExitError carries a specific exit code (monitoring plugins need 1, 2 and 3).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// Main runs counterctl with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := NewRootCmd(stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "counterctl:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "counterctl:", err)
	return 1
}

// NewRootCmd builds the command tree writing to the given streams: the
// node's commands and, unless built with -tags node, the admin's.
func NewRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := newNodeRootCmd(stdout, stderr)
	if admin := adminCommands(); len(admin) > 0 {
		root.Long = ""
		root.AddCommand(admin...)
	}
	return root
}

// newNodeRootCmd is the tree of the counterctl the counter package installs
// on every node (built with -tags node): what runs on a node, nothing else.
func newNodeRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "counterctl",
		Short: "Provision, wire and check a counter cluster",
		Long: `This is the node's counterctl, installed by the counter package: it
carries the checks that run on a node. Provisioning, health, status and the
lab are in the admin's counterctl (make build).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCmd())
	root.AddCommand(newNodeCmd())
	return root
}
