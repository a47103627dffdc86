package cftokencli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

// tokenStory is everything `status NAME` tells about one CloudflareToken.
type tokenStory struct {
	Namespace string                 `json:"namespace"`
	Name      string                 `json:"name"`
	Ready     metav1.ConditionStatus `json:"ready"`
	Reason    string                 `json:"reason,omitempty"`
	Message   string                 `json:"message,omitempty"`
	IssuerRef cfv1.IssuerRef         `json:"issuerRef"`
	// Issuer is nil when it cannot be read (IssuerError says why: missing, or not readable with your RBAC).
	Issuer      *issuerRow `json:"issuer,omitempty"`
	IssuerError string     `json:"issuerError,omitempty"`
	Secret      string     `json:"secret"`
	SecretKey   string     `json:"secretKey"`
	// Status is the CloudflareToken's status as the server sent it, fields unknown to this plugin included.
	Status      map[string]any `json:"status,omitempty"`
	Events      []eventRow     `json:"events"`
	EventsError string         `json:"eventsError,omitempty"`
}

func (g *globals) statusOne(ctx context.Context, s *session, ns, name string) error {
	t, err := s.getToken(ctx, ns, name)
	if err != nil {
		return err
	}
	ready := readyOf(t.Status.Conditions)
	story := tokenStory{
		Namespace: t.Namespace, Name: t.Name, Ready: ready.Status, Reason: ready.Reason, Message: ready.Message,
		IssuerRef: t.Spec.IssuerRef, Secret: secretNameOf(t), SecretKey: t.Spec.Secret.TokenKey(), Status: t.rawStatus,
	}
	if iss, err := s.getIssuer(ctx, t.Spec.IssuerRef.Kind, t.Namespace, t.Spec.IssuerRef.Name); err != nil {
		story.IssuerError = err.Error()
	} else {
		r := issuerRowOf(iss)
		story.Issuer = &r
	}
	if story.Events, err = s.eventsOf(ctx, t.Namespace, t.UID); err != nil {
		story.EventsError = err.Error()
	}
	if err := g.emit(story, func(w io.Writer) { printStory(w, t, &story, time.Now()) }); err != nil {
		return err
	}
	if ready.Status != metav1.ConditionTrue {
		return errNotHealthy
	}
	return nil
}

// secretNameOf is the Secret the token is written to: as the status records it, else as the spec names it.
func secretNameOf(t *tokenObject) string {
	switch {
	case t.Status.SecretName != "":
		return t.Status.SecretName
	case t.Spec.Secret.Name != "":
		return t.Spec.Secret.Name
	}
	return t.Name
}

func printStory(w io.Writer, t *tokenObject, story *tokenStory, now time.Time) {
	st := &t.Status
	field(w, "Name", t.Name)
	field(w, "Namespace", t.Namespace)
	field(w, "Ready", fmt.Sprintf("%s (%s): %s", story.Ready, story.Reason, story.Message))
	issuer := t.Spec.IssuerRef.Kind + "/" + t.Spec.IssuerRef.Name
	if story.Issuer != nil {
		issuer += ": " + story.Issuer.summary(now)
	} else {
		issuer += ": " + story.IssuerError
	}
	field(w, "Issuer", issuer)
	field(w, "Secret", fmt.Sprintf("%s (key %s)", story.Secret, story.SecretKey))
	field(w, "Token ID", st.TokenID)
	field(w, "Token name", st.TokenName)
	field(w, "Zones", zoneList(st.Zones))
	field(w, "Permissions", groupList(st.PermissionGroups))
	field(w, "Issued", stamp(st.IssuedAt, now))
	field(w, "Expires", stamp(st.ExpiresAt, now))
	field(w, "Renews", stamp(st.RenewalTime, now))
	field(w, "Last rotate request", st.LastRotateRequest)
	failure := ""
	if st.LastFailureTime != nil {
		failure = fmt.Sprintf("%s, %s in a row", stamp(st.LastFailureTime, now), attempts(st.FailedAttempts))
	}
	field(w, "Last failure", failure)

	fmt.Fprintln(w, "\nConditions:")
	c := newColumns(w, indentPrefix, "TYPE", "STATUS", "REASON", "SINCE", "MESSAGE")
	for _, cond := range st.Conditions {
		c.row(cond.Type, string(cond.Status), cond.Reason, relative(&cond.LastTransitionTime, now), cond.Message)
	}
	c.flush()

	fmt.Fprintln(w, "\nRetiring tokens:")
	printRetiring(w, story.Status, now)

	if other := otherStatusFields(story.Status); len(other) > 0 {
		fmt.Fprintln(w, "\nOther status fields:")
		for _, line := range other {
			fmt.Fprintln(w, "  "+line)
		}
	}

	fmt.Fprintln(w, "\nEvents:")
	if story.EventsError != "" {
		fmt.Fprintln(w, "  "+story.EventsError)
		return
	}
	if len(story.Events) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	c = newColumns(w, indentPrefix, "LAST SEEN", "TYPE", "REASON", "MESSAGE")
	for _, e := range story.Events {
		c.row(relative(&e.Time, now), e.Type, e.Reason, e.Message)
	}
	c.flush()
}

func zoneList(zones []cfv1.ResolvedZone) string {
	names := make([]string, 0, len(zones))
	for _, z := range zones {
		names = append(names, z.Name)
	}
	return strings.Join(names, ", ")
}

func groupList(groups []cfv1.ResolvedPermissionGroup) string {
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.Name)
	}
	return strings.Join(names, ", ")
}
