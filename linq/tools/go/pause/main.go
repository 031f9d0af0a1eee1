// The pod sandbox's pause process for the devnet's real node: holds the pod's namespaces, reaps adopted
// children (SIGCHLD ignored: the kernel reaps them) and exits on SIGINT/SIGTERM. Static (CGO_ENABLED=0), so
// the image is this one file.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signal.Ignore(syscall.SIGCHLD)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
