package lab

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// sshKey is a fresh ed25519 key in OpenSSH formats.
type sshKey struct {
	private []byte // PEM, "OPENSSH PRIVATE KEY"
	public  []byte // authorized_keys line
	pub     ssh.PublicKey
}

func newSSHKey(comment string) (*sshKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	line := ssh.MarshalAuthorizedKey(sp)
	line = append(line[:len(line)-1], []byte(" "+comment+"\n")...)
	return &sshKey{private: pem.EncodeToMemory(block), public: line, pub: sp}, nil
}

// writeKeyPair writes path (0600) and path.pub.
func (k *sshKey) writeKeyPair(path string) error {
	if err := writeFile(path, k.private, 0o600); err != nil {
		return err
	}
	return writeFile(path+".pub", k.public, 0o644)
}

// randomSecret is n random bytes, base64 (TSIG secrets, passwords).
func randomSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// machineID is a fresh /etc/machine-id value.
func machineID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeFile writes data, creating parent directories.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Chmod(path, mode)
}
