package testutil

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// ParentSecret is a Secret holding a parent API token under the default key, as an administrator writes it.
func ParentSecret(namespace, name, value string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Data:       map[string][]byte{cfv1.DefaultSecretKey: []byte(value)},
	}
}

// OpenClusterIssuer is a ClusterTokenIssuer on the parent token in Secret secret that allows any zone and any
// permission ("*"), its tokens owned by owner ("" is the default, User) in account accountID.
func OpenClusterIssuer(name, secret, accountID string, owner cfv1.TokenOwner) *cfv1.ClusterTokenIssuer {
	return &cfv1.ClusterTokenIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: cfv1.ClusterTokenIssuerSpec{IssuerSpec: cfv1.IssuerSpec{
			APITokenSecretRef:  &cfv1.SecretKeyRef{Name: secret},
			AccountID:          accountID,
			TokenOwner:         owner,
			AllowedZones:       []string{"*"},
			AllowedPermissions: []string{"*"},
		}},
	}
}

// ClusterIssuerReady is nil once the ClusterTokenIssuer is Ready, else says why not (its Ready condition's
// reason and message), for a suite to poll.
func ClusterIssuerReady(ctx context.Context, c client.Client, name string) error {
	iss := &cfv1.ClusterTokenIssuer{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, iss); err != nil {
		return err
	}
	if meta.IsStatusConditionTrue(iss.Status.Conditions, cfv1.ConditionReady) {
		return nil
	}
	if cond := meta.FindStatusCondition(iss.Status.Conditions, cfv1.ConditionReady); cond != nil {
		return fmt.Errorf("ClusterTokenIssuer %s not Ready: %s: %s", name, cond.Reason, cond.Message)
	}
	return fmt.Errorf("ClusterTokenIssuer %s has no Ready condition yet: %+v", name, iss.Status.Conditions)
}
