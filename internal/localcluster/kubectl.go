package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Kubectl runs bin/k8s/<version>/kubectl against one kubeconfig, in the repository (so that -k config/...
// works), as a person would.
type Kubectl struct {
	Path       string
	Kubeconfig string
	Dir        string
}

// Run runs kubectl with args and returns its stdout; the error carries stderr.
func (k Kubectl) Run(ctx context.Context, args ...string) (string, error) {
	return k.RunInput(ctx, "", args...)
}

// RunInput is Run with stdin.
func (k Kubectl) RunInput(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, k.Path, append([]string{"--kubeconfig=" + k.Kubeconfig}, args...)...)
	cmd.Dir = k.Dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.Kubeconfig)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return run(cmd)
}

// Command is the line a person would type for args (for printing).
func (k Kubectl) Command(args ...string) string {
	return "kubectl " + strings.Join(args, " ")
}

// GetJSON runs `kubectl get <args> -o json` and decodes the answer into into.
func (k Kubectl) GetJSON(ctx context.Context, into any, args ...string) error {
	out, err := k.Run(ctx, append(append([]string{"get"}, args...), "-o", "json")...)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), into)
}

// WaitReady waits with `kubectl wait --for=condition=Ready` for each of objects ("kind/name", with
// "-n ns" in namespaced, e.g. []string{"-n", "cert-manager", "cftoken/dns01"}).
func (k Kubectl) WaitReady(ctx context.Context, timeout time.Duration, args ...string) error {
	_, err := k.Run(ctx, append([]string{"wait", "--for=condition=Ready", fmt.Sprintf("--timeout=%s", timeout)}, args...)...)
	return err
}

// Condition is a status condition as kubectl shows it.
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// ReadyCondition reads the Ready condition of one object (args as for kubectl get).
func (k Kubectl) ReadyCondition(ctx context.Context, args ...string) (Condition, error) {
	var obj struct {
		Status struct {
			Conditions []Condition `json:"conditions"`
		} `json:"status"`
	}
	if err := k.GetJSON(ctx, &obj, args...); err != nil {
		return Condition{}, err
	}
	for _, c := range obj.Status.Conditions {
		if c.Type == "Ready" {
			return c, nil
		}
	}
	return Condition{}, nil
}
