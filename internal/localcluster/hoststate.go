package localcluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HostState is what a one-node cluster may leave on the machine: processes, mounts, network namespaces,
// network links, iptables rules, cgroups. Snapshot it before the cluster starts and compare after it
// stopped (Leftovers): the difference is what the cluster leaked.
type HostState struct {
	Netns    []string          // /run/netns entries
	Links    []string          // network interfaces
	Iptables map[string]string // "iptables"/"ip6tables" -> rules and chains (iptables-save, no counters)
	Mounts   []string          // mount points
	// Files are the node's files outside the cluster's directory (nodeFiles): the shims' sockets and runc's
	// state, which a killed shim leaves behind, and the kubelet's /var/log/containers.
	Files []string `json:",omitempty"`
}

// SnapshotHost reads the current HostState.
func SnapshotHost() (HostState, error) {
	var s HostState
	var err error
	if s.Netns, err = listDir("/run/netns"); err != nil {
		return s, err
	}
	if s.Links, err = links(); err != nil {
		return s, err
	}
	if s.Mounts, err = mountPoints(); err != nil {
		return s, err
	}
	s.Files = nodeFiles()
	s.Iptables = map[string]string{}
	for _, cmd := range []string{"iptables", "ip6tables"} {
		if s.Iptables[cmd], err = iptablesRules(cmd); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Leftovers lists what now differs from before: netns, links, mounts and iptables rules added since.
func (before HostState) Leftovers(after HostState) []string {
	var out []string
	for _, n := range added(before.Netns, after.Netns) {
		out = append(out, "network namespace /run/netns/"+n)
	}
	for _, l := range added(before.Links, after.Links) {
		out = append(out, "network link "+l)
	}
	for _, m := range added(before.Mounts, after.Mounts) {
		out = append(out, "mount "+m)
	}
	for _, f := range added(before.Files, after.Files) {
		out = append(out, "file "+f)
	}
	for cmd, rules := range after.Iptables {
		for _, r := range added(strings.Split(before.Iptables[cmd], "\n"), strings.Split(rules, "\n")) {
			out = append(out, cmd+" "+r)
		}
	}
	return out
}

func added(before, after []string) []string {
	had := map[string]bool{}
	for _, b := range before {
		had[b] = true
	}
	var out []string
	for _, a := range after {
		if a != "" && !had[a] {
			out = append(out, a)
		}
	}
	return out
}

// nodeFiles: which of nodeDirs exist, and the shims' sockets in shimSocketDir (a killed shim leaves its
// socket there, whatever containerd's configured state directory).
func nodeFiles() []string {
	var out []string
	for _, dir := range nodeDirs {
		if _, err := os.Lstat(dir); err == nil {
			out = append(out, dir)
		}
	}
	names, _ := listDir(shimSocketDir)
	for _, n := range names {
		out = append(out, filepath.Join(shimSocketDir, n))
	}
	return out
}

// shimSocketDir is where containerd's shims put their sockets (containerd's defaults.DefaultStateDir + "/s").
const shimSocketDir = "/run/containerd/s"

// nodeDirs are the directories the node may create outside the cluster's directory, deepest first:
// containerd's fixed run directory and the kubelet's container log links.
var nodeDirs = []string{shimSocketDir, "/run/containerd", "/var/log/containers"}

func listDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

func links() ([]string, error) {
	return listDir("/sys/class/net")
}

// mountPoints are the mount points of this mount namespace (/proc/self/mountinfo's fifth field).
func mountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 {
			out = append(out, unescapeMount(fields[4]))
		}
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// iptablesRules is `<cmd>-save` without comments, counters and COMMIT lines: one line per table, chain
// and rule ("*nat", ":KUBE-SERVICES", "-A ..."). Built-in chains of a table are left out, so that a table
// the kernel created empty does not count as a change.
func iptablesRules(cmd string) (string, error) {
	if _, err := exec.LookPath(cmd + "-save"); err != nil {
		return "", nil // no iptables on this machine: nothing can have been added
	}
	out, err := exec.Command(cmd + "-save").Output()
	if err != nil {
		return "", fmt.Errorf("%s-save: %w", cmd, err)
	}
	builtin := map[string]bool{"INPUT": true, "OUTPUT": true, "FORWARD": true, "PREROUTING": true, "POSTROUTING": true}
	var lines []string
	table := ""
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "*"):
			table = l[1:]
		case strings.HasPrefix(l, ":"):
			name := strings.Fields(l[1:])[0]
			if !builtin[name] {
				lines = append(lines, table+" chain "+name)
			}
		case strings.HasPrefix(l, "-A "):
			lines = append(lines, table+" "+l)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), nil
}

// killCgroupTree kills every process in the cgroup v1 hierarchies' directory name (e.g. "cto-cluster":
// /sys/fs/cgroup/<controller>/cto-cluster and below), freezing it first so that nothing forks meanwhile,
// then removes the directories, deepest first.
func killCgroupTree(name string) error {
	freezer := filepath.Join("/sys/fs/cgroup/freezer", name)
	if _, err := os.Stat(freezer); err == nil {
		_ = os.WriteFile(filepath.Join(freezer, "freezer.state"), []byte("FROZEN"), 0)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pids := cgroupPids(name)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = os.WriteFile(filepath.Join(freezer, "freezer.state"), []byte("THAWED"), 0)
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of cgroup %s survive SIGKILL", pids, name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var errs []error
	for _, dir := range cgroupDirs(name) {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cgroupDirs are the directories of cgroup name in every hierarchy, deepest first.
func cgroupDirs(name string) []string {
	var dirs []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, root := range roots {
		_ = filepath.WalkDir(filepath.Join(root, name), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/") })
	return dirs
}

// cgroupPids are the processes in cgroup name (and below) of any hierarchy.
func cgroupPids(name string) []int {
	seen := map[int]bool{}
	var pids []int
	for _, dir := range cgroupDirs(name) {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// createCgroup creates cgroup name in every v1 hierarchy (the kubelet's cgroupRoot must exist in all).
func createCgroup(name string) error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, root := range roots {
		if st, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil || st.IsDir() {
			continue // not a hierarchy's root
		}
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		// A new cpuset cgroup (v1) has no CPUs and no memory nodes: no process could join it.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(root, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), v, 0); err != nil {
					return fmt.Errorf("setting %s of %s: %w", f, dir, err)
				}
			}
		}
	}
	return nil
}

// joinCgroup moves process pid into cgroup name of every hierarchy (its children inherit it).
func joinCgroup(name string, pid int) error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, root := range roots {
		procs := filepath.Join(root, name, "cgroup.procs")
		if _, err := os.Stat(procs); err != nil {
			continue
		}
		if err := os.WriteFile(procs, []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("moving %d into %s: %w", pid, procs, err)
		}
	}
	return nil
}

// unmountUnder lazily unmounts every mount point under dir, deepest first.
func unmountUnder(dirs ...string) error {
	mounts, err := mountPoints()
	if err != nil {
		return err
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	var errs []error
	for _, m := range mounts {
		for _, dir := range dirs {
			if m == dir || strings.HasPrefix(m, dir+"/") {
				if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
					errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err))
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}
