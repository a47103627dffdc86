package localcluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tryLock reports whether another open file description can take lockFile now (as another run would).
func tryLock(t *testing.T) bool {
	t.Helper()
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatal(err)
	}
	return err == nil
}

func TestLockHostExcludesOtherRunsUntilTheLastRelease(t *testing.T) {
	lockFile = filepath.Join(t.TempDir(), "cluster.lock")
	t.Cleanup(func() { lockFile = "/run/cto-cluster.lock" })
	ctx := context.Background()

	suite, err := LockHost(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := LockHost(ctx, nil) // nested: StartCluster inside the suite's hold
	if err != nil {
		t.Fatal(err)
	}
	if tryLock(t) {
		t.Fatal("another run took the lock while this process held it")
	}
	cluster()
	cluster() // a second call of one release changes nothing
	if tryLock(t) {
		t.Fatal("the lock went with the inner release; the suite still holds it")
	}
	suite()
	if !tryLock(t) {
		t.Fatal("the lock outlived its last release")
	}
}

func TestLockHostWaitsForTheHolderAndNamesIt(t *testing.T) {
	lockFile = filepath.Join(t.TempDir(), "cluster.lock")
	t.Cleanup(func() { lockFile = "/run/cto-cluster.lock" })
	other, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := other.WriteString("4242\n"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var log strings.Builder
	if _, err := LockHost(ctx, &log); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockHost with the lock held elsewhere: %v, want a deadline error", err)
	}
	if !strings.Contains(log.String(), "process 4242 runs a one-node cluster") {
		t.Errorf("log %q does not name the holder", log.String())
	}

	_ = other.Close() // the holder ends
	release, err := LockHost(context.Background(), nil)
	if err != nil {
		t.Fatalf("after the holder ended: %v", err)
	}
	release()
}

func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		port, err := freePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if port < 10000 || port >= low {
			t.Fatalf("port %d outside [10000, %d)", port, low)
		}
	}
}
