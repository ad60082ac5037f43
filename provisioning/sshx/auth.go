package sshx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authMethods returns public-key auth from the key file or the agent; there
// is deliberately no password method. The closer releases the agent socket.
func authMethods(ctx context.Context, cfg Config) ([]ssh.AuthMethod, func(), error) {
	if cfg.KeyFile != "" {
		pem, err := os.ReadFile(cfg.KeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, nil, fmt.Errorf("key %s is protected by a passphrase, which counterctl never asks for: "+
				"load it into ssh-agent (ssh-add %s) and leave key_file out of the inventory", cfg.KeyFile, cfg.KeyFile)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("parse key %s: %w", cfg.KeyFile, err)
		}
		return []ssh.AuthMethod{ssh.PublicKeys(signer)}, func() {}, nil
	}
	if cfg.AgentSocket == "" {
		return nil, nil, errors.New("no key_file given and no ssh-agent ($SSH_AUTH_SOCK is unset): set ssh.key_file in the inventory or start ssh-agent and ssh-add your key")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", cfg.AgentSocket)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh-agent at %s: %w", cfg.AgentSocket, err)
	}
	ag := agent.NewClient(conn)
	return []ssh.AuthMethod{ssh.PublicKeysCallback(ag.Signers)}, func() { conn.Close() }, nil
}
