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

// NewRootCmd builds the command tree writing to the given streams.
func NewRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "counterctl",
		Short:         "Provision, wire and check a counter cluster",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCmd())
	root.AddCommand(newLabCmd())
	root.AddCommand(newNodeCmd())
	root.AddCommand(newHealthCmd())
	root.AddCommand(newProvisionCmd())
	root.AddCommand(newStatusCmd())
	return root
}
