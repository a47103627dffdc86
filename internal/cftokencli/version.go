package cftokencli

import "runtime/debug"

// Version is set at release builds (-ldflags "-X .../internal/cftokencli.Version=v0.1.0", hack/krew);
// otherwise the module version `go install ...@v0.1.0` records, else "dev".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
