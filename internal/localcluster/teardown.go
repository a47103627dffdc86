package localcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Stop tears the cluster down, whatever state it is in: every process of its cgroup (control plane,
// containerd, shims, containers) killed, its mounts and network namespaces removed, the bridge and the
// Pods' veths deleted, the iptables rules and chains added since the start removed, the sysctls restored,
// its directory deleted. It is idempotent.
func (c *Cluster) Stop() error {
	if c == nil || c.dir == "" {
		return nil
	}
	errs := make([]error, 0, 2)
	for i := len(c.procs) - 1; i >= 0; i-- {
		_ = c.procs[i].Stop(5 * time.Second) // SIGTERM first, the node before the control plane
	}
	errs = append(errs, c.registry.stop())
	errs = append(errs, teardown(c.dir, c.before, c.sysctls))
	c.dir = ""
	if c.unlock != nil {
		c.unlock()
	}
	return errors.Join(errs...)
}

// teardown removes what a cluster with working directory dir may have left since the host was in state
// before.
func teardown(dir string, before HostState, sysctls map[string]string) error {
	var errs []error
	if err := killCgroupTree(cgroupName); err != nil {
		errs = append(errs, err)
	}
	now, err := SnapshotHost()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	// Network namespaces: the CNI's bind mounts under /run/netns.
	for _, ns := range added(before.Netns, now.Netns) {
		p := filepath.Join("/run/netns", ns)
		if err := unmountUnder(p); err != nil {
			errs = append(errs, err)
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := unmountUnder(dir); err != nil {
		errs = append(errs, err)
	}
	for _, m := range added(before.Mounts, now.Mounts) {
		if err := unmountUnder(m); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range added(before.Links, now.Links) {
		if _, err := os.Stat(filepath.Join("/sys/class/net", l)); err == nil {
			if _, err := run(exec.Command("ip", "link", "delete", l)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for cmd, rules := range before.Iptables {
		if err := removeAddedRules(cmd, rules); err != nil {
			errs = append(errs, err)
		}
	}
	removeNodeFiles(dir)
	removeShimSockets(dir)
	// The node's directories outside dir that did not exist before, if empty (nothing of another's in them).
	for _, d := range added(before.Files, nodeFiles()) {
		if slices.Contains(nodeDirs, d) {
			_ = os.Remove(d)
		}
	}
	for path, v := range sysctls {
		if err := os.WriteFile(path, []byte(v), 0); err != nil {
			errs = append(errs, fmt.Errorf("restoring %s: %w", path, err))
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(stateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CleanupStaleCluster tears down the cluster of an earlier run that died before its Stop (its state is
// in stateFile), and a bridge or cgroup of this package's names that no state accounts for; nothing when
// there is none. It waits for the machine's cluster lock (LockHost) first.
func CleanupStaleCluster(ctx context.Context, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	unlock, err := LockHost(ctx, log)
	if err != nil {
		return err
	}
	defer unlock()
	b, err := os.ReadFile(stateFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err == nil {
		var s savedState
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%s: %w", stateFile, err)
		}
		if s.Owner != 0 && s.Owner != os.Getpid() && syscall.Kill(s.Owner, 0) == nil {
			// A live owner without the lock is a run of an older version of this package: never tear down
			// another run's live cluster.
			return fmt.Errorf("process %d runs a cluster in %s: wait for it, or stop it (Ctrl-C)", s.Owner, s.Dir)
		}
		fmt.Fprintf(log, "cluster: tearing down the cluster an earlier run left in %s\n", s.Dir)
		if err := teardown(s.Dir, s.Before, s.Sysctl); err != nil {
			return err
		}
	}
	return removeStrays(log)
}

// removeStrays removes the bridge and the cgroup of a cluster whose state was lost (an older version of
// this package saved it only after creating them).
func removeStrays(log io.Writer) error {
	var errs []error
	if _, err := os.Stat(filepath.Join("/sys/class/net", BridgeName)); err == nil {
		fmt.Fprintf(log, "cluster: deleting the stray bridge %s\n", BridgeName)
		if _, err := run(exec.Command("ip", "link", "delete", BridgeName)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(cgroupDirs(cgroupName)) > 0 {
		fmt.Fprintf(log, "cluster: removing the stray cgroup %s\n", cgroupName)
		errs = append(errs, killCgroupTree(cgroupName))
	}
	return errors.Join(errs...)
}

// removeAddedRules deletes the rules and then the chains that `<cmd>-save` shows now and did not show in
// before (iptablesRules' format): kube-proxy's KUBE-* chains, the CNI plugins' CNI-* chains and the jumps
// to them from the built-in chains.
func removeAddedRules(cmd, before string) error {
	now, err := iptablesRules(cmd)
	if err != nil {
		return err
	}
	var errs []error
	var chains [][2]string
	for _, line := range added(strings.Split(before, "\n"), strings.Split(now, "\n")) {
		table, rest, _ := strings.Cut(line, " ")
		if chain, ok := strings.CutPrefix(rest, "chain "); ok {
			chains = append(chains, [2]string{table, chain})
			continue
		}
		spec, ok := strings.CutPrefix(rest, "-A ")
		if !ok {
			continue
		}
		args := append([]string{"-w", "-t", table, "-D"}, splitRule(spec)...)
		if _, err := run(exec.Command(cmd, args...)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, op := range []string{"-F", "-X"} { // flush all first: the chains jump to each other
		for _, ch := range chains {
			if _, err := run(exec.Command(cmd, "-w", "-t", ch[0], op, ch[1])); err != nil && op == "-X" {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// splitRule splits an iptables-save rule into arguments: spaces separate, double quotes group (with \"
// inside).
func splitRule(s string) []string {
	var args []string
	var cur strings.Builder
	inQuote, inArg := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && inQuote && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case ch == '"':
			inQuote, inArg = !inQuote, true
		case ch == ' ' && !inQuote:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(ch)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

// runCtx runs a short command with ctx and returns its stdout; the error carries stderr.
func runCtx(ctx context.Context, path string, args ...string) (string, error) {
	return run(exec.CommandContext(ctx, path, args...))
}

// removeShimSockets removes the sockets the shims of the cluster's containerd left in shimSocketDir when
// they were killed: named by containerd as sha256(<containerd's address>/<namespace>/<task id>[/debug]).
func removeShimSockets(dir string) {
	tasks, _ := listDir(filepath.Join(dir, "containerd", "state", "io.containerd.runtime.v2.task", "k8s.io"))
	for _, id := range tasks {
		for _, suffix := range []string{"", "/debug"} {
			sum := sha256.Sum256([]byte(filepath.Join(containerdSocket(dir), "k8s.io", id) + suffix))
			_ = os.Remove(filepath.Join(shimSocketDir, hex.EncodeToString(sum[:])))
		}
	}
}

// removeNodeFiles removes what the kubelet and the CNI keep outside dir for the Pods a hard kill did not
// let them remove: the kubelet's /var/log/containers links into dir, the CNI's cached results of network
// "cto" (the name in cniConfig).
func removeNodeFiles(dir string) {
	links, _ := filepath.Glob("/var/log/containers/*")
	for _, l := range links {
		if target, err := os.Readlink(l); err == nil && strings.HasPrefix(target, dir+"/") {
			_ = os.Remove(l)
		}
	}
	cached, _ := filepath.Glob("/var/lib/cni/results/cto-*")
	for _, f := range cached {
		_ = os.Remove(f)
	}
}
