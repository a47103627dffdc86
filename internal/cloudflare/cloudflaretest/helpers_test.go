package cloudflaretest_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/shared"
	"github.com/cloudflare/cloudflare-go/v7/user"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
)

// newServer starts a fake for one test and clears the SDK's CLOUDFLARE_* variables, which it reads first.
func newServer(t *testing.T, opts ...cloudflaretest.Option) *cloudflaretest.Server {
	t.Helper()
	for _, v := range []string{"CLOUDFLARE_BASE_URL", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL",
		"CLOUDFLARE_API_USER_SERVICE_KEY", "CLOUDFLARE_CUSTOM_HEADERS"} {
		t.Setenv(v, "") // restores the old value after the test
		os.Unsetenv(v)  // the SDK treats a set-but-empty variable as a value
	}
	srv := cloudflaretest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// client is an SDK client on the fake that never retries, so that each call is one request.
func client(srv *cloudflaretest.Server, token string) *cloudflare.Client {
	return cloudflare.NewClient(option.WithAPIToken(token), option.WithBaseURL(srv.URL()), option.WithMaxRetries(0))
}

func keyClient(srv *cloudflaretest.Server, key, email string) *cloudflare.Client {
	return cloudflare.NewClient(option.WithAPIKey(key), option.WithAPIEmail(email), option.WithBaseURL(srv.URL()),
		option.WithMaxRetries(0))
}

// wantCFError asserts err is a Cloudflare error with this HTTP status and first error code.
func wantCFError(t *testing.T, err error, status int, code int64) {
	t.Helper()
	var cfErr *cloudflare.Error
	if !errors.As(err, &cfErr) {
		t.Fatalf("want Cloudflare error %d/%d, got %v", status, code, err)
	}
	if cfErr.StatusCode != status || len(cfErr.Errors) == 0 || cfErr.Errors[0].Code != code {
		t.Fatalf("want HTTP %d code %d, got HTTP %d errors %+v", status, code, cfErr.StatusCode, cfErr.Errors)
	}
}

// asCFError is wantCFError for tests that go on to inspect the error: it returns the asserted Cloudflare error.
func asCFError(t *testing.T, err error, status int, code int64) *cloudflare.Error {
	t.Helper()
	wantCFError(t, err, status, code)
	var cfErr *cloudflare.Error
	errors.As(err, &cfErr) // wantCFError has made sure it is one
	return cfErr
}

func zoneKey(id string) string    { return "com.cloudflare.api.account.zone." + id }
func accountKey(id string) string { return "com.cloudflare.api.account." + id }

// userPolicy builds an SDK policy on flat resources.
func userPolicy(effect string, groups []string, resources map[string]string) shared.TokenPolicyParam {
	pgs := make([]shared.TokenPolicyPermissionGroupParam, 0, len(groups))
	for _, g := range groups {
		pgs = append(pgs, shared.TokenPolicyPermissionGroupParam{ID: cloudflare.F(g)})
	}
	return shared.TokenPolicyParam{
		Effect:           cloudflare.F(shared.TokenPolicyEffect(effect)),
		PermissionGroups: cloudflare.F(pgs),
		Resources:        cloudflare.F[shared.TokenPolicyResourcesUnionParam](shared.TokenPolicyResourcesIAMResourcesTypeObjectStringParam(resources)),
	}
}

// mintUserToken creates a user-owned token through the parent and returns its id and value.
func mintUserToken(t *testing.T, srv *cloudflaretest.Server, name string, policies ...shared.TokenPolicyParam) (string, string) {
	t.Helper()
	res, err := client(srv, srv.UserParentToken()).User.Tokens.New(context.Background(), user.TokenNewParams{
		Name: cloudflare.F(name), Policies: cloudflare.F(policies)})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return res.ID, res.Value
}

// newClock is a settable time source for WithClock (clk.Now); tests move it with Step.
func newClock() *clocktesting.FakeClock {
	return clocktesting.NewFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

type sharedPolicy = shared.TokenPolicyParam

var _ = http.StatusOK

func sharedToken(name string, policies ...shared.TokenPolicyParam) shared.TokenParam {
	return shared.TokenParam{Name: cloudflare.F(name), Policies: cloudflare.F(policies)}
}

func optionToken(v string) option.RequestOption { return option.WithAPIToken(v) }
func optionBase(u string) option.RequestOption  { return option.WithBaseURL(u) }
func optionRetries(n int) option.RequestOption  { return option.WithMaxRetries(n) }
