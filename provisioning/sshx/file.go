package sshx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/pkg/sftp"
)

// sftpSession opens an SFTP client that ctx cancellation closes, since
// pkg/sftp calls take no context.
func (c *Client) sftpSession(ctx context.Context) (*sftp.Client, func(), error) {
	sc, err := sftp.NewClient(c.ssh)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: sftp: %w", c.addr, c.err(err))
	}
	stop := context.AfterFunc(ctx, func() { sc.Close() })
	return sc, func() { stop(); sc.Close() }, nil
}

// ReadFile returns the content of path and whether it exists, reading as
// root (through sudo for other users) so configuration can be compared.
func (c *Client) ReadFile(ctx context.Context, p string) ([]byte, bool, error) {
	if c.sudo {
		return c.readFileSudo(ctx, p)
	}
	sc, done, err := c.sftpSession(ctx)
	if err != nil {
		return nil, false, err
	}
	defer done()
	f, err := sc.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: read %s: %w", c.addr, p, ctxErr(ctx, err))
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, false, fmt.Errorf("%s: read %s: %w", c.addr, p, ctxErr(ctx, err))
	}
	return b, true, nil
}

// missingStatus is the exit status readFileSudo's script gives for "no such file".
const missingStatus = 100

func (c *Client) readFileSudo(ctx context.Context, p string) ([]byte, bool, error) {
	// A constant script; the path arrives as $1, never inside the script text.
	script := fmt.Sprintf(`[ -e "$1" ] || exit %d; exec cat -- "$1"`, missingStatus)
	out, err := c.Run(ctx, []string{"sh", "-c", script, "sh", p}, RunOptions{})
	var xe *ExitError
	if errors.As(err, &xe) && xe.Code == missingStatus {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	return out.Stdout, true, nil
}

// WriteFile replaces path atomically with data, owned by owner:group
// (empty means root) with mode. Readers see the old or the new content,
// never a partial file, and the content is never readable by others on the way.
func (c *Client) WriteFile(ctx context.Context, p string, data []byte, mode fs.FileMode, owner, group string) error {
	if owner == "" {
		owner = "root"
	}
	if group == "" {
		group = "root"
	}
	if !path.IsAbs(p) {
		return fmt.Errorf("write %s: path must be absolute", p)
	}
	sc, done, err := c.sftpSession(ctx)
	if err != nil {
		return err
	}
	defer done()
	// As root the staging directory sits next to the target so the final
	// rename stays on one filesystem. SFTP cannot sudo (pkg/sftp#12), so
	// other users stage in /tmp and `sudo install` copies into place.
	stageIn := path.Dir(p)
	if c.sudo {
		stageIn = "/tmp"
	}
	dir, err := privateDir(sc, stageIn)
	if err != nil {
		return fmt.Errorf("%s: write %s: %w", c.addr, p, ctxErr(ctx, err))
	}
	defer sc.RemoveAll(dir)
	tmp := path.Join(dir, path.Base(p))
	if err := upload(sc, tmp, data); err != nil {
		return fmt.Errorf("%s: write %s: %w", c.addr, p, ctxErr(ctx, err))
	}
	perm := fmt.Sprintf("%04o", mode.Perm())
	if !c.sudo {
		if _, err := c.Run(ctx, []string{"chown", "--", owner + ":" + group, tmp}, RunOptions{}); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := sc.Chmod(tmp, mode.Perm()); err != nil {
			return fmt.Errorf("%s: write %s: chmod: %w", c.addr, p, ctxErr(ctx, err))
		}
		if err := sc.PosixRename(tmp, p); err != nil {
			return fmt.Errorf("%s: write %s: rename: %w", c.addr, p, ctxErr(ctx, err))
		}
		return nil
	}
	next := path.Join(path.Dir(p), "."+path.Base(p)+".ctr-new")
	if _, err := c.Run(ctx, []string{"install", "-m", perm, "-o", owner, "-g", group, "--", tmp, next}, RunOptions{}); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if _, err := c.Run(ctx, []string{"mv", "-f", "--", next, p}, RunOptions{}); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// privateDir makes a fresh directory only the login user can enter, so a
// file staged in it cannot be opened by anyone else, even before its chmod.
func privateDir(sc *sftp.Client, parent string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dir := path.Join(parent, ".ctr-"+hex.EncodeToString(b[:]))
	// Mkdir fails if the name exists, so nobody can plant it for us.
	if err := sc.Mkdir(dir); err != nil {
		return "", fmt.Errorf("staging dir: %w", err)
	}
	if err := sc.Chmod(dir, 0o700); err != nil {
		sc.RemoveDirectory(dir)
		return "", fmt.Errorf("staging dir: %w", err)
	}
	return dir, nil
}

func upload(sc *sftp.Client, p string, data []byte) error {
	f, err := sc.Create(p)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("upload: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

// ctxErr prefers the context's verdict over the closed-connection error it causes.
func ctxErr(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}
