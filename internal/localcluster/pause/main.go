// Command pause is the one-node cluster's Pod sandbox process (what registry.k8s.io/pause does): it holds
// the Pod's namespaces, reaps the zombies of processes that share its PID namespace, and exits on SIGINT or
// SIGTERM. internal/localcluster builds it statically and packs it as the sandbox image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
