// referrers-registry: go-containerregistry's in-memory registry with the OCI 1.1 referrers API on
// (GET /v2/<repo>/referrers/<digest>), for tests of the referrers-API path of signature discovery.
// `crane registry serve` serves the same registry with that API off (it answers 404, as Debian's
// docker-registry 2.8 does), so cosign falls back to the `sha256-<hex>` referrers tag there.
//
// Plain HTTP on the given loopback address; prints "listening on <host:port>" to stderr once it
// accepts connections (address 127.0.0.1:0 picks a free port).
//
// Known difference from the OCI spec (v0.22.1): the referrers index gives each manifest's
// artifactType as its config media type, ignoring the manifest's own artifactType field, so a cosign
// bundle is listed with artifactType "application/vnd.oci.empty.v1+json".
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	address := flag.String("address", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	listener, err := net.Listen("tcp", *address)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "listening on %s\n", listener.Addr().String())
	server := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler:           registry.New(registry.WithReferrersSupport(true)),
	}
	log.Fatal(server.Serve(listener))
}
