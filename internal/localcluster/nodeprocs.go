package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ContainerPid is the host pid of the first process of container id (a CRI container ID, without the
// containerd:// prefix): the kubelet's cgroupfs driver names the container's cgroup after it.
func ContainerPid(id string) (int, error) {
	for _, dir := range cgroupDirs(cgroupName) {
		if filepath.Base(dir) != id {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			return strconv.Atoi(f[0])
		}
	}
	return 0, fmt.Errorf("no process of container %s in cgroup %s", id, cgroupName)
}

// ClusterProcesses lists the processes that belong to a cluster: in its cgroup (every component joins it),
// or running a program from root/bin/cluster or the cluster's directory dir. (Not bin/k8s's: envtest
// suites run the same etcd and kube-apiserver.) Empty once the cluster is torn down.
func ClusterProcesses(root, dir string) []string {
	var out []string
	for _, pid := range cgroupPids(cgroupName) {
		out = append(out, fmt.Sprintf("pid %d in cgroup %s", pid, cgroupName))
	}
	var prefixes []string
	for _, p := range []string{filepath.Join(root, "bin", "cluster"), dir} {
		prefixes = append(prefixes, p)
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			prefixes = append(prefixes, resolved)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		exe, err := os.Readlink(filepath.Join(p, "exe"))
		if err != nil {
			continue
		}
		for _, prefix := range prefixes {
			if strings.HasPrefix(exe, prefix+"/") {
				out = append(out, fmt.Sprintf("pid %s runs %s", filepath.Base(p), exe))
				break
			}
		}
	}
	return out
}
