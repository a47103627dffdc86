// Package tokenname is the codec of the names the operator gives its tokens at Cloudflare: the machine-read
// mark (cluster, resource UID, serial) that lets a token created but never recorded be found again.
package tokenname

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// Token names at Cloudflare are the operator's memory of last resort: a token created but never recorded
// (crash, lost answer) is found again by its name. The machine-read part comes first and has a fixed
// shape; the rest is for people reading the dashboard:
//
//	cfto:<cluster hash>:<resource UID>:<serial> <namespace>/<name>
const (
	tokenNamePrefix = "cfto:"
	// retainedPrefix goes before the name of a token handed over by deletionPolicy Retain.
	retainedPrefix = "retained "
)

var tokenNameRE = regexp.MustCompile(`^cfto:([0-9a-f]{8}):([0-9a-f-]{36}):([0-9]+)(?: |$)`)

// Name identifies one minted token.
type Name struct {
	// Cluster is the hash of the cluster name (ClusterHash).
	Cluster string
	UID     types.UID
	Serial  int64
}

// ClusterHash shortens the cluster name to the 8 hex characters that mark this cluster's tokens.
func ClusterHash(clusterName string) string {
	sum := sha256.Sum256([]byte(clusterName))
	return hex.EncodeToString(sum[:4])
}

// Format renders the name, with namespace/name appended and cut to Cloudflare's limit.
func (n Name) Format(namespace, name string) string {
	return truncate(fmt.Sprintf("%s%s:%s:%d %s/%s", tokenNamePrefix, n.Cluster, n.UID, n.Serial, namespace, name))
}

// truncate cuts a name to Cloudflare's limit without splitting a character.
func truncate(s string) string {
	if len(s) <= cloudflare.MaxTokenName {
		return s
	}
	s = s[:cloudflare.MaxTokenName]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Parse reads the machine part of a token name; ok is false for names this operator did not make.
func Parse(s string) (Name, bool) {
	m := tokenNameRE.FindStringSubmatch(s)
	if m == nil {
		return Name{}, false
	}
	serial, err := strconv.ParseInt(m[3], 10, 64)
	if err != nil {
		return Name{}, false
	}
	return Name{Cluster: m[1], UID: types.UID(m[2]), Serial: serial}, true
}

// Retained is a token name without the machine-read mark (Parse refuses it): the name of a token handed
// over for good by deletionPolicy Retain.
func Retained(name string) string {
	return truncate(retainedPrefix + name)
}
