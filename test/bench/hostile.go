package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// hostileNamespace is a tenant's namespace in which it labels its own Secrets as the operator's.
const hostileNamespace = "hostile"

// hostileLabels measures what a tenant gains by putting the operator's labels on its own big Secrets (the
// cache selects Secrets by that label): the manager's RSS before, and once its informer has held them for
// a while. The Secrets are deleted afterwards, so that later phases measure what they always did.
func (b *bench) hostileLabels(ctx context.Context) error {
	if b.o.hostileSecrets <= 0 {
		return nil
	}
	if err := b.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: hostileNamespace}}); err != nil {
		return err
	}
	before, err := readProc(b.mgr.Pid())
	if err != nil {
		return err
	}
	say("creating %d Secrets of %d KiB labelled as the operator's, in namespace %s", b.o.hostileSecrets,
		b.o.hostileSize>>10, hostileNamespace)
	err = parallel(b.o.hostileSecrets, 8, func(i int) error {
		buf := make([]byte, b.o.hostileSize)
		if _, err := rand.Read(buf); err != nil {
			return err
		}
		name := fmt.Sprintf("planted-%02d", i)
		return b.k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: hostileNamespace, Labels: map[string]string{
				cfv1.LabelManagedBy: cfv1.ManagedByValue, cfv1.LabelToken: name}},
			Data: map[string][]byte{cfv1.DefaultSecretKey: buf},
		})
	})
	if err != nil {
		return err
	}
	// The informer has them within a second; a few more let any copy it makes settle into the RSS figure.
	time.Sleep(10 * time.Second)
	after, err := readProc(b.mgr.Pid())
	if err != nil {
		return err
	}
	b.r.hostileBeforeKiB, b.r.hostileAfterKiB = before.rssKiB, after.rssKiB
	say("  manager RSS %d KiB before, %d KiB after (+%d KiB)", before.rssKiB, after.rssKiB, after.rssKiB-before.rssKiB)
	return b.k8s.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(hostileNamespace))
}
