package cloudflaretokens

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// Deployments: consumers that read the token only at start (external-dns) cannot see a rotated value, so
// after a rotation the operator restarts the Deployments a CloudflareToken names in
// spec.secret.restartDeployments, in its own namespace, as `kubectl rollout restart` does: one merge patch
// of a pod template annotation. Patch is all it needs (a missing Deployment answers NotFound); it never
// reads, lists, creates, scales or deletes them.
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=patch

// restartConsumers restarts the Deployments of spec.secret.restartDeployments after a rotation has written
// the new token into the Secret; the grace period keeps the old token valid while their new pods start. A
// Deployment that is missing or refuses the patch does not fail the token (the Secret holds a live one):
// the ConsumersRestarted condition and a Warning event name it.
func (r *Reconciler) restartConsumers(ctx context.Context, p *tokenPass, now time.Time) {
	tok := p.tok
	names := tok.Spec.Secret.RestartDeployments
	if len(names) == 0 {
		meta.RemoveStatusCondition(&tok.Status.Conditions, cfv1.ConditionConsumersRestarted)
		return
	}
	stamp := now.UTC().Format(time.RFC3339)
	var restarted, missing, failed []string
	for _, name := range names {
		err := r.restartDeployment(ctx, tok.Namespace, name, stamp)
		switch {
		case err == nil:
			restarted = append(restarted, name)
		case apierrors.IsNotFound(err):
			missing = append(missing, name)
		default:
			logf.FromContext(ctx).Info("restarting a consumer failed", "deployment", name, "error", err.Error())
			failed = append(failed, fmt.Sprintf("%s (%s)", name, apierrors.ReasonForError(err)))
		}
	}
	cond := metav1.Condition{Type: cfv1.ConditionConsumersRestarted, ObservedGeneration: tok.Generation,
		Status: metav1.ConditionTrue, Reason: "Restarted",
		Message: fmt.Sprintf("restarted Deployments %s at %s for token %s", deploymentList(restarted), stamp, tok.Status.TokenID)}
	var problems []string
	if len(missing) > 0 {
		cond.Reason = "DeploymentNotFound"
		problems = append(problems, fmt.Sprintf("Deployments %s not found in namespace %s", deploymentList(missing), tok.Namespace))
	}
	if len(failed) > 0 {
		cond.Reason = "RestartFailed"
		problems = append(problems, fmt.Sprintf("Deployments %s could not be patched", deploymentList(failed)))
	}
	if len(problems) > 0 {
		cond.Status = metav1.ConditionFalse
		cond.Message = fmt.Sprintf("after the rotation to token %s: %s; their pods still hold the old token, which is "+
			"revoked after %s: fix spec.secret.restartDeployments or restart them by hand (kubectl rollout restart)",
			tok.Status.TokenID, strings.Join(problems, "; "), tok.Spec.RotationGracePeriodOrDefault())
		if len(restarted) > 0 {
			cond.Message += fmt.Sprintf("; restarted %s", deploymentList(restarted))
		}
		r.event(tok, corev1.EventTypeWarning, cond.Reason, "RestartConsumers", "%s", cond.Message)
	} else {
		r.event(tok, corev1.EventTypeNormal, cond.Reason, "RestartConsumers", "Restarted Deployments %s after the rotation to token %s",
			deploymentList(restarted), tok.Status.TokenID)
	}
	meta.SetStatusCondition(&tok.Status.Conditions, cond)
}

// restartDeployment stamps the Deployment's pod template, which rolls its pods.
func (r *Reconciler) restartDeployment(ctx context.Context, namespace, name, stamp string) error {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{cfv1.AnnotationRestartedAt: stamp}}}}})
	if err != nil {
		return err
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	return r.Patch(ctx, dep, client.RawPatch(types.MergePatchType, patch))
}

func deploymentList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
