package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are the argon2id cost parameters for new password hashes.
// Stored hashes carry their own parameters, so these can change at any time.
type HashParams struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultHashParams is OWASP's argon2id recommendation (t=2, m=19 MiB, p=1).
var DefaultHashParams = HashParams{Time: 2, MemoryKiB: 19456, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Upper bounds when decoding, so a corrupted record cannot make one
	// login cost gigabytes or minutes.
	maxTime      = 64
	maxMemoryKiB = 1 << 20
)

var errBadHash = errors.New("malformed password hash")

// hashPassword returns a PHC-style string:
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<key> (unpadded base64).
func hashPassword(password string, p HashParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword reports whether password matches encoded. It returns an
// error only when encoded is not a hash this code can check.
func verifyPassword(password, encoded string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// needsRehash reports whether encoded was made with other parameters than p.
func needsRehash(encoded string, p HashParams) bool {
	got, _, _, err := decodeHash(encoded)
	return err != nil || got != p
}

func decodeHash(encoded string) (p HashParams, salt, key []byte, err error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(f[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: version %q", errBadHash, f[2])
	}
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", errBadHash, f[3])
	}
	params := fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, p.Threads)
	if params != f[3] || p.Time < 1 || p.Time > maxTime || p.Threads < 1 ||
		p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", errBadHash, f[3])
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(f[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: salt", errBadHash)
	}
	if key, err = b64.DecodeString(f[5]); err != nil || len(key) < 16 {
		return p, nil, nil, fmt.Errorf("%w: key", errBadHash)
	}
	return p, salt, key, nil
}
