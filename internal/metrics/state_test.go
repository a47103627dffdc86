package metrics

import (
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"
)

func cond(typ string, s metav1.ConditionStatus) []metav1.Condition {
	return []metav1.Condition{{Type: typ, Status: s, Reason: "Test", LastTransitionTime: metav1.Now()}}
}

// stateObjects: a Ready token, a refused one, one not yet reconciled; a verified TokenIssuer whose
// credential is not hardened; a ClusterTokenIssuer that failed, with no CredentialHardened condition.
func stateObjects() []client.Object {
	hardened := append(cond(cfv1.ConditionReady, metav1.ConditionTrue),
		cond(cfv1.ConditionCredentialHardened, metav1.ConditionFalse)...)
	return []client.Object{
		&cfv1.CloudflareToken{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "dns01"},
			Spec:   cfv1.CloudflareTokenSpec{IssuerRef: cfv1.IssuerRef{Kind: cfv1.KindClusterTokenIssuer, Name: "cloudflare"}},
			Status: cfv1.CloudflareTokenStatus{Conditions: cond(cfv1.ConditionReady, metav1.ConditionTrue)}},
		&cfv1.CloudflareToken{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "wide"},
			Spec:   cfv1.CloudflareTokenSpec{IssuerRef: cfv1.IssuerRef{Kind: cfv1.KindTokenIssuer, Name: "local"}},
			Status: cfv1.CloudflareTokenStatus{Conditions: cond(cfv1.ConditionReady, metav1.ConditionFalse)}},
		&cfv1.CloudflareToken{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "new"},
			Spec: cfv1.CloudflareTokenSpec{IssuerRef: cfv1.IssuerRef{Kind: cfv1.KindClusterTokenIssuer, Name: "cloudflare"}}},
		&cfv1.TokenIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "local"},
			Status: cfv1.IssuerStatus{Conditions: hardened}},
		&cfv1.ClusterTokenIssuer{ObjectMeta: metav1.ObjectMeta{Name: "cloudflare"},
			Status: cfv1.IssuerStatus{Conditions: cond(cfv1.ConditionReady, metav1.ConditionFalse)}},
	}
}

// newStateRegistry registers the state collector over a fake client holding objs.
func newStateRegistry(t *testing.T, objs ...client.Object) *prometheus.Registry {
	t.Helper()
	scheme := k8sruntime.NewScheme()
	if err := cfv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	if err := RegisterState(reg, c, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestStateGaugesFollowConditions(t *testing.T) {
	reg := newStateRegistry(t, stateObjects()...)
	want := `
# HELP cloudflare_token_operator_token_ready 1 for the status (True, False, Unknown) of each CloudflareToken's Ready condition, 0 for the others.
# TYPE cloudflare_token_operator_token_ready gauge
cloudflare_token_operator_token_ready{condition="False",issuer="ClusterTokenIssuer/cloudflare",name="dns01",namespace="team-a"} 0
cloudflare_token_operator_token_ready{condition="True",issuer="ClusterTokenIssuer/cloudflare",name="dns01",namespace="team-a"} 1
cloudflare_token_operator_token_ready{condition="Unknown",issuer="ClusterTokenIssuer/cloudflare",name="dns01",namespace="team-a"} 0
cloudflare_token_operator_token_ready{condition="False",issuer="TokenIssuer/team-a/local",name="wide",namespace="team-a"} 1
cloudflare_token_operator_token_ready{condition="True",issuer="TokenIssuer/team-a/local",name="wide",namespace="team-a"} 0
cloudflare_token_operator_token_ready{condition="Unknown",issuer="TokenIssuer/team-a/local",name="wide",namespace="team-a"} 0
cloudflare_token_operator_token_ready{condition="False",issuer="ClusterTokenIssuer/cloudflare",name="new",namespace="team-b"} 0
cloudflare_token_operator_token_ready{condition="True",issuer="ClusterTokenIssuer/cloudflare",name="new",namespace="team-b"} 0
cloudflare_token_operator_token_ready{condition="Unknown",issuer="ClusterTokenIssuer/cloudflare",name="new",namespace="team-b"} 1
# HELP cloudflare_token_operator_issuer_ready 1 for the status (True, False, Unknown) of each issuer's Ready condition, 0 for the others.
# TYPE cloudflare_token_operator_issuer_ready gauge
cloudflare_token_operator_issuer_ready{condition="False",issuer="ClusterTokenIssuer/cloudflare"} 1
cloudflare_token_operator_issuer_ready{condition="True",issuer="ClusterTokenIssuer/cloudflare"} 0
cloudflare_token_operator_issuer_ready{condition="Unknown",issuer="ClusterTokenIssuer/cloudflare"} 0
cloudflare_token_operator_issuer_ready{condition="False",issuer="TokenIssuer/team-a/local"} 0
cloudflare_token_operator_issuer_ready{condition="True",issuer="TokenIssuer/team-a/local"} 1
cloudflare_token_operator_issuer_ready{condition="Unknown",issuer="TokenIssuer/team-a/local"} 0
# HELP cloudflare_token_operator_issuer_credential_hardened 1 for the status of each issuer's CredentialHardened condition (False: its parent token has no client IP filter or no expiry), 0 for the others.
# TYPE cloudflare_token_operator_issuer_credential_hardened gauge
cloudflare_token_operator_issuer_credential_hardened{condition="False",issuer="TokenIssuer/team-a/local"} 1
cloudflare_token_operator_issuer_credential_hardened{condition="True",issuer="TokenIssuer/team-a/local"} 0
cloudflare_token_operator_issuer_credential_hardened{condition="Unknown",issuer="TokenIssuer/team-a/local"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "cloudflare_token_operator_token_ready",
		"cloudflare_token_operator_issuer_ready", "cloudflare_token_operator_issuer_credential_hardened"); err != nil {
		t.Error(err)
	}
}

// A deleted object's series go with it: nothing is remembered between scrapes.
func TestStateGaugesForgetDeletedObjects(t *testing.T) {
	reg := newStateRegistry(t)
	n, err := testutil.GatherAndCount(reg, "cloudflare_token_operator_token_ready", "cloudflare_token_operator_issuer_ready")
	if err != nil || n != 0 {
		t.Errorf("with no objects: %d series (%v), want 0", n, err)
	}
}

func TestBuildInfo(t *testing.T) {
	reg := newStateRegistry(t)
	want := `
# HELP cloudflare_token_operator_build_info Always 1; labelled with the manager's version and Go version.
# TYPE cloudflare_token_operator_build_info gauge
cloudflare_token_operator_build_info{go_version="` + runtime.Version() + `",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "cloudflare_token_operator_build_info"); err != nil {
		t.Error(err)
	}
	families, _ := reg.Gather()
	names := make([]string, 0, len(families))
	for _, f := range families {
		names = append(names, f.GetName())
	}
	sort.Strings(names)
	if len(names) != 1 {
		t.Errorf("with no objects, families %v: want build_info alone", names)
	}
}
