// The distribution registry with only the filesystem storage driver (upstream's main links the S3, Azure
// and GCS drivers and their SDKs), for the devnet's local image registry.
package main

import (
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	registry.RootCmd.Execute() //nolint:errcheck // it exits non-zero itself on failure
}
