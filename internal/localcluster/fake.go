package localcluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// FakeInfo is the JSON line bin/fakecloudflare prints when it serves.
type FakeInfo struct {
	URL                 string            `json:"url"`
	AccountID           string            `json:"accountID"`
	AccountIDs          []string          `json:"accountIDs"`
	Zones               map[string]string `json:"zones"`
	UserParentToken     string            `json:"userParentToken"`
	AccountParentTokens map[string]string `json:"accountParentTokens"`
	AdminURL            string            `json:"adminURL"`
}

// Fake is the fake Cloudflare API (hack/fakecloudflare) running as its own process.
type Fake struct {
	*Process
	Info FakeInfo
}

// StartFake runs bin/fakecloudflare on a free loopback port with its log in logPath, and returns once it
// has printed its JSON line (or fails within timeout).
func StartFake(ctx context.Context, bin, logPath string, timeout time.Duration, args ...string) (*Fake, error) {
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := StartProcess("fakecloudflare", cmd, logPath)
	if err != nil {
		return nil, err
	}
	type result struct {
		info FakeInfo
		err  error
	}
	first := make(chan result, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadString('\n')
		var res result
		if err != nil {
			res.err = fmt.Errorf("reading its JSON line: %w", err)
		} else if err := json.Unmarshal([]byte(line), &res.info); err != nil {
			res.err = fmt.Errorf("its first line is not the JSON description (%q): %w", strings.TrimSpace(line), err)
		} else if res.info.URL == "" || res.info.UserParentToken == "" || res.info.AdminURL == "" {
			res.err = fmt.Errorf("its JSON line lacks url, userParentToken or adminURL: %q", strings.TrimSpace(line))
		}
		first <- res
		// Keep draining stdout into the log, so that the fake never blocks on a full pipe.
		if log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			_, _ = io.Copy(log, r)
			_ = log.Close()
		} else {
			_, _ = io.Copy(io.Discard, r)
		}
	}()
	select {
	case res := <-first:
		if res.err != nil {
			_ = p.Stop(5 * time.Second)
			return nil, fmt.Errorf("fakecloudflare: %w\n%s", res.err, p.Tail(20))
		}
		return &Fake{Process: p, Info: res.info}, nil
	case <-time.After(timeout):
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("fakecloudflare printed nothing within %s\n%s", timeout, p.Tail(20))
	case <-ctx.Done():
		_ = p.Stop(5 * time.Second)
		return nil, ctx.Err()
	}
}

// FakeToken is a live token as the fake's admin API lists it (GET /__fake/tokens; no values).
type FakeToken struct {
	ID        string
	Name      string
	Owner     string
	Status    string
	Policies  []FakePolicy
	ExpiresOn *time.Time
}

// FakePolicy is one policy of a FakeToken.
type FakePolicy struct {
	Effect             string
	PermissionGroupIDs []string
	Resources          map[string]any
}

// Tokens lists the fake's live tokens, the parent credentials included.
func (f *Fake) Tokens(ctx context.Context) ([]FakeToken, error) {
	var out []FakeToken
	return out, getJSON(ctx, f.Info.AdminURL+"/tokens", "", &out)
}

// Verify calls Cloudflare's GET /user/tokens/verify with value as the bearer token, as any client of the
// token would, and returns the token's id and status ("active" for a usable token).
func (f *Fake) Verify(ctx context.Context, value string) (id, status string, err error) {
	var env struct {
		Success bool `json:"success"`
		Errors  []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Result struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"result"`
	}
	if err := getJSON(ctx, strings.TrimRight(f.Info.URL, "/")+"/user/tokens/verify", value, &env); err != nil {
		return "", "", err
	}
	if !env.Success {
		return "", "", fmt.Errorf("verify refused the token: %+v", env.Errors)
	}
	return env.Result.ID, env.Result.Status, nil
}

func getJSON(ctx context.Context, url, bearer string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	// Cloudflare answers errors with a JSON envelope too: decode it whatever the status.
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: %s: %s", req.URL.Path, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
