package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// tokenBytes is the session token's entropy: 256 bits, well over the 128 needed.
const tokenBytes = 32

// newToken returns a random session token, base64url without padding.
func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenHash is how a session token is named in Redis: hex sha256. A dump of
// Redis therefore holds no usable token; sha256 suffices (no salt, no
// stretching) because tokens are 256 random bits, not guessable passwords.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
