package localcluster

import "syscall"

// sysProcAttr puts the child in its own process group (so that Stop reaches its children and a terminal's
// Ctrl-C reaches only the parent, which stops everything in order) and kills it if the parent dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
