package localcluster

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFilterManifests(t *testing.T) {
	stream := []byte(`# a comment-only document
---
apiVersion: v1
kind: Namespace
metadata:
  name: ops
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: manager
  namespace: ops
spec: {}
---

---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: manager
  namespace: ops
`)
	kept, dropped, err := FilterManifests(stream, func(o ObjectRef) bool { return o.Kind != "Deployment" })
	if err != nil {
		t.Fatal(err)
	}
	if want := []ObjectRef{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ops", Name: "manager"}}; len(dropped) != 1 || dropped[0] != want[0] {
		t.Errorf("dropped %v, want %v", dropped, want)
	}
	want := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ops\n---\n" +
		"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: manager\n  namespace: ops\n"
	if string(kept) != want {
		t.Errorf("kept:\n%s\nwant:\n%s", kept, want)
	}
}

// A stopped process takes its whole group with it: a child of the child does not survive.
func TestProcessStopKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	// The shell starts a grandchild that ignores SIGTERM, prints its pid, and waits.
	cmd := exec.Command("sh", "-c", `(trap "" TERM; sleep 300) & echo $! ; wait`)
	p, err := StartProcess("group", cmd, filepath.Join(dir, "group.log"))
	if err != nil {
		t.Fatal(err)
	}
	var grandchild int
	if err := Eventually(context.Background(), 10*time.Second, 20*time.Millisecond, func(context.Context) (bool, error) {
		grandchild, err = strconv.Atoi(strings.TrimSpace(p.Log()))
		return err == nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := Eventually(context.Background(), 5*time.Second, 20*time.Millisecond, func(context.Context) (bool, error) {
		return errors.Is(syscall.Kill(grandchild, 0), syscall.ESRCH), nil
	}); err != nil {
		t.Errorf("grandchild %d survived Stop", grandchild)
	}
	if exited, _ := p.Exited(); !exited {
		t.Error("Exited() is false after Stop")
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

func TestEventually(t *testing.T) {
	ctx := context.Background()
	n := 0
	if err := Eventually(ctx, time.Second, time.Millisecond, func(context.Context) (bool, error) {
		n++
		return n == 3, errors.New("not yet")
	}); err != nil || n != 3 {
		t.Errorf("Eventually = %v after %d calls, want nil after 3", err, n)
	}
	err := Eventually(ctx, 50*time.Millisecond, time.Millisecond, func(context.Context) (bool, error) {
		return false, errors.New("the last word")
	})
	if err == nil || !strings.Contains(err.Error(), "the last word") {
		t.Errorf("a timeout says %v, want the condition's last error", err)
	}
	start := time.Now()
	err = Eventually(ctx, time.Minute, time.Millisecond, func(context.Context) (bool, error) {
		return false, Permanent(errors.New("dead"))
	})
	if err == nil || err.Error() != "dead" || time.Since(start) > time.Second {
		t.Errorf("a permanent error gives %v after %s, want it at once", err, time.Since(start))
	}
}
