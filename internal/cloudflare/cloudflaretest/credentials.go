package cloudflaretest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"regexp"
)

const base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Token value prefixes since 2026: user-owned and account-owned tokens.
const (
	userValuePrefix    = "cfut_"
	accountValuePrefix = "cfat_"
)

// wellFormedToken is what passes as a token in an Authorization header: Cloudflare answers a differently
// shaped value with 6003/6111 rather than 1000. Legacy tokens are 40 characters, new ones longer.
var wellFormedToken = regexp.MustCompile(`^[A-Za-z0-9_-]{40,200}$`)

// wellFormedKey is a global API key: 37 to 45 hex digits for older keys, "cfk_" and the scannable body for
// new ones.
var wellFormedKey = regexp.MustCompile(`^([0-9a-f]{37,45}|cfk_[A-Za-z0-9_-]{40,200})$`)

// globalKeyPrefix starts the scannable global API keys Cloudflare issues now.
const globalKeyPrefix = "cfk_"

// newTokenValue mints prefix + 40 random characters + 8 hex characters of checksum, the shape of Cloudflare's
// scannable token format (a leak scanner can tell a real token from noise without asking Cloudflare).
func newTokenValue(owner string) string {
	prefix := userValuePrefix
	if owner == ownerAccount {
		prefix = accountValuePrefix
	}
	return scannable(prefix)
}

// scannable is prefix + 40 random base62 characters + 8 hex characters of checksum.
func scannable(prefix string) string {
	buf := make([]byte, 40)
	_, _ = rand.Read(buf)
	body := make([]byte, 40)
	for i, b := range buf {
		body[i] = base62[int(b)%len(base62)]
	}
	v := prefix + string(body)
	return v + fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(v)))
}

// randomHex returns n random lowercase hex digits.
func randomHex(n int) string {
	buf := make([]byte, (n+1)/2)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)[:n]
}

// hexID derives a stable 32-hex id, so that seeded zones keep their ids from run to run.
func hexID(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "/" + name))
	return hex.EncodeToString(sum[:16])
}
