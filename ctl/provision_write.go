//go:build !node

package ctl

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"

	"counter/provisioning/sshx"
)

// writeScript replaces $1 atomically with stdin, mode $2, owner $3: a
// private temporary file beside it (so the rename stays on one file
// system), owner and mode set before the rename, removed on any failure.
const writeScript = `set -e
umask 077
t=$(mktemp "$1.ctr-XXXXXX")
trap 'rm -f -- "$t"' EXIT
cat >"$t"
chown -- "$3" "$t"
chmod -- "$2" "$t"
mv -f -- "$t" "$1"
trap - EXIT`

// streamWriter writes a file in one SSH command with the content on stdin,
// which moves at the speed of the SSH window: SFTP (sshx.WriteFile) waits
// a round trip per 32 KiB, minutes for the package across an ocean.
type streamWriter struct{ c *sshx.Client }

func (w streamWriter) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode, owner, group string) error {
	argv := []string{"sh", "-c", writeScript, "sh", path, fmt.Sprintf("%04o", mode.Perm()), owner + ":" + group}
	if _, err := w.c.Run(ctx, argv, sshx.RunOptions{Stdin: bytes.NewReader(data)}); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
