// Package localcluster runs the operator's whole world on this machine, for `make demo` (hack/demo) and the
// end-to-end suite (test/e2e): a real kube-apiserver and etcd (controller-runtime's envtest, on the binaries
// `make envtest` leaves in bin/k8s/<version>), the fake Cloudflare API as its own process
// (bin/fakecloudflare), and bin/manager as its own process against a kubeconfig on disk.
//
// Every process it starts runs in its own process group, stopped with SIGTERM and then SIGKILL; on Linux a
// child also dies with the process that started it (Pdeathsig), so a killed demo or test leaves no manager
// or fake behind. kube-apiserver and etcd are envtest's: ControlPlane.Stop stops them and removes their
// temporary directories.
package localcluster
