package cftokencli

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
)

// States of the value a Secret holds, as check reports them. Cloudflare's own statuses (active, disabled,
// expired, "revoked (exposed)") are reported as Cloudflare spells them.
const (
	stateActive = cloudflare.StatusActive
	// stateUnknown: Cloudflare does not accept the value at all (401, code 1000 "Invalid API Token").
	stateUnknown = "unknown"
	// stateIPRestricted: the token's source ranges exclude the address check runs from.
	stateIPRestricted = "ip-restricted"
	// stateMissing: the Secret or its key does not exist.
	stateMissing = "missing"
)

// verdict is what Cloudflare's verify endpoint says about a value.
type verdict struct {
	State     string
	TokenID   string
	ExpiresAt *metav1.Time
	Detail    string
}

// judge reads the outcome of verifying a value. An error comes back only when Cloudflare could not be
// asked or gave no answer about the value (transport, 5xx, rate limit): then nothing is known.
func judge(info cloudflare.CredentialInfo, err error) (verdict, error) {
	v := verdict{State: info.Status, TokenID: info.ID}
	if info.ExpiresOn != nil {
		t := metav1.NewTime(*info.ExpiresOn)
		v.ExpiresAt = &t
	}
	if err == nil || info.Status != "" {
		if v.State != stateActive {
			v.Detail = fmt.Sprintf("Cloudflare reports the token as %s", v.State)
		}
		return v, nil
	}
	switch cloudflare.ClassOf(err) {
	case cloudflare.ClassAuthentication:
		v.State = stateUnknown
		v.Detail = "Cloudflare does not accept this value (" + err.Error() + "): the token was revoked, or it " +
			"expired or was disabled, or the value is not a token"
		return v, nil
	case cloudflare.ClassIPRestricted:
		v.State = stateIPRestricted
		v.Detail = "the token's source ranges exclude this machine's address, so it cannot be checked from here (" +
			err.Error() + ")"
		return v, nil
	}
	return v, fmt.Errorf("asking Cloudflare about the value: %w", err)
}
