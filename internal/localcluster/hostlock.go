package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// lockFile serialises one-node clusters on this machine: the bridge, the cgroup and the kubelet's port are
// fixed, so a second run (another engineer's, or a CI run beside a manual one) waits for the first instead
// of failing or tearing it down. flock(2): the kernel releases it when its holder dies, however it dies.
var lockFile = "/run/cto-cluster.lock" // a variable for the tests

// hostLock is this process's hold on lockFile; nested LockHost calls (the suite's, then StartCluster's)
// share it.
var hostLock struct {
	sync.Mutex
	f     *os.File
	holds int
}

// LockHost takes the machine's cluster lock, waiting while another process holds it (saying so on log
// once) until ctx ends. release gives this hold back; the lock goes when the last hold of the process does.
func LockHost(ctx context.Context, log io.Writer) (release func(), err error) {
	hostLock.Lock()
	defer hostLock.Unlock()
	if hostLock.holds == 0 {
		if hostLock.f, err = acquireLockFile(ctx, log); err != nil {
			return nil, err
		}
	}
	hostLock.holds++
	var once sync.Once
	return func() { once.Do(releaseHostLock) }, nil
}

func releaseHostLock() {
	hostLock.Lock()
	defer hostLock.Unlock()
	if hostLock.holds--; hostLock.holds == 0 {
		_ = hostLock.f.Close() // closing the last descriptor releases the flock
		hostLock.f = nil
	}
}

func acquireLockFile(ctx context.Context, log io.Writer) (*os.File, error) {
	if log == nil {
		log = io.Discard
	}
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", lockFile, err)
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", lockFile, err)
		}
		if !said {
			holder, _ := os.ReadFile(lockFile)
			fmt.Fprintf(log, "cluster: process %s runs a one-node cluster on this machine; waiting for it to finish\n",
				strings.TrimSpace(string(holder)))
			said = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for the one-node cluster lock %s: %w", lockFile, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
	// The holder's pid, for the message above in another run (the lock itself is the flock).
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
