package issuers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/issuerclient"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/statuspatch"
)

// Deleting an issuer must never strand the tokens minted through it: like a PersistentVolumeClaim in use,
// an issuer stays (finalizer FinalizerIssuerInUse, condition InUse) until no CloudflareToken names it or
// holds a token it minted; those resources' tokens are revoked through it as they go. A terminating issuer
// mints no first tokens.

// ensureInUseFinalizer adds the finalizer to a live issuer, or, on a deleting one, removes it once no
// CloudflareToken uses the issuer. done is true when the issuer is being deleted (nothing else to do).
func (r *Reconciler) ensureInUseFinalizer(ctx context.Context, iss *issuerclient.Issuer) (done bool, err error) {
	obj := iss.Obj
	if obj.GetDeletionTimestamp().IsZero() {
		if controllerutil.ContainsFinalizer(obj, cfv1.FinalizerIssuerInUse) {
			return false, nil
		}
		before := obj.DeepCopyObject().(client.Object)
		controllerutil.AddFinalizer(obj, cfv1.FinalizerIssuerInUse)
		if err := r.Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return false, fmt.Errorf("adding finalizer %s: %w", cfv1.FinalizerIssuerInUse, err)
		}
		return false, nil
	}
	if !controllerutil.ContainsFinalizer(obj, cfv1.FinalizerIssuerInUse) {
		return true, nil
	}
	users, err := r.usersOf(ctx, iss)
	if err != nil {
		return true, err
	}
	if len(users) > 0 {
		patch := statuspatch.New(obj)
		shown := users[:min(len(users), 10)]
		meta.SetStatusCondition(&iss.Status.Conditions, metav1.Condition{Type: cfv1.ConditionInUse, Status: metav1.ConditionTrue,
			Reason: "CloudflareTokensRemain", ObservedGeneration: obj.GetGeneration(), Message: fmt.Sprintf(
				"deletion waits for %d CloudflareToken(s) that use this issuer, so that their tokens can be revoked: %s",
				len(users), strings.Join(shown, ", "))})
		return true, patch.Apply(ctx, r.Client, obj)
	}
	before := obj.DeepCopyObject().(client.Object)
	controllerutil.RemoveFinalizer(obj, cfv1.FinalizerIssuerInUse)
	if err := r.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return true, fmt.Errorf("removing finalizer %s: %w", cfv1.FinalizerIssuerInUse, err)
	}
	return true, nil
}

// usersOf lists (namespace/name) the CloudflareTokens that name the issuer or hold a token it minted.
func (r *Reconciler) usersOf(ctx context.Context, iss *issuerclient.Issuer) ([]string, error) {
	list := &cfv1.CloudflareTokenList{}
	var opts []client.ListOption
	if iss.Namespace != "" {
		opts = append(opts, client.InNamespace(iss.Namespace))
	}
	if err := r.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing CloudflareTokens: %w", err)
	}
	var out []string
	for i := range list.Items {
		t := &list.Items[i]
		if slices.Contains(issuersUsedBy(t), iss.Key()) {
			out = append(out, t.Namespace+"/"+t.Name)
		}
	}
	return out, nil
}

// issuersUsedBy are the issuers (IssuerKey) a CloudflareToken names or holds tokens of.
func issuersUsedBy(t *cfv1.CloudflareToken) []string {
	out := []string{issuerclient.KeyOf(t)}
	add := func(o *cfv1.TokenOrigin) {
		if o == nil {
			return
		}
		if v := issuerclient.Key(o.IssuerKind, t.Namespace, o.IssuerName); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	add(t.Status.MintedBy)
	for _, rt := range t.Status.RetiringTokens {
		add(rt.MintedBy)
	}
	return out
}

// issuersOfToken maps a CloudflareToken event to the issuers of r.Kind it uses, so that a deleting issuer
// lets go as soon as its last user does.
func (r *Reconciler) issuersOfToken(_ context.Context, obj client.Object) []reconcile.Request {
	t, ok := obj.(*cfv1.CloudflareToken)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	for _, v := range issuersUsedBy(t) {
		kind, rest, _ := strings.Cut(v, "/")
		if kind != r.Kind {
			continue
		}
		key := types.NamespacedName{Name: rest}
		if ns, name, found := strings.Cut(rest, "/"); found && kind == cfv1.KindTokenIssuer {
			key = types.NamespacedName{Namespace: ns, Name: name}
		}
		reqs = append(reqs, reconcile.Request{NamespacedName: key})
	}
	return reqs
}

// usesChanged passes the CloudflareToken events that can end an issuer's use: a deletion, or a change of the
// issuers it names or holds tokens of (status updates that keep them are the common case and pass nothing).
var usesChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*cfv1.CloudflareToken)
		n, ok2 := e.ObjectNew.(*cfv1.CloudflareToken)
		return !ok1 || !ok2 || !slices.Equal(issuersUsedBy(o), issuersUsedBy(n))
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// deletionStarted lets the update that sets deletionTimestamp through, whatever else a predicate filters.
var deletionStarted = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}
