// The devnet's ingress on the real node: serves https://<service>-<namespace>.<domain>/ (the LPStack's
// endpoint shape) by proxying to that Service's endpoint port, named by its linq.network/endpoint annotation
// ("http:<port name>:<port>"). It runs as a pod in the provider's ingress namespace, which tenant
// NetworkPolicies admit, and reads Services with its ServiceAccount token. Standard library only.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"
)

const (
	accountDir         = "/var/run/secrets/kubernetes.io/serviceaccount"
	endpointAnnotation = "linq.network/endpoint"
)

type service struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		ClusterIP string `json:"clusterIP"`
		Ports     []struct {
			Name string `json:"name"`
			Port int    `json:"port"`
		} `json:"ports"`
	} `json:"spec"`
}

type router struct {
	api    *http.Client
	server string
}

// target finds the Service a host name routes to: the first label is <service>-<namespace>, and tenant
// namespaces start with "lq-".
func (r *router) target(host string) (*url.URL, error) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, _, _ := strings.Cut(host, ".")
	i := strings.LastIndex(label, "-lq-")
	if i <= 0 {
		return nil, fmt.Errorf("host %q is not <service>-<tenant namespace>.<domain>", host)
	}
	name, namespace := label[:i], label[i+1:]
	token, err := os.ReadFile(accountDir + "/token")
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/namespaces/%s/services/%s", r.server, namespace, name), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := r.api.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("no service %s/%s (API status %d)", namespace, name, resp.StatusCode)
	}
	var svc service
	if err := json.NewDecoder(resp.Body).Decode(&svc); err != nil {
		return nil, err
	}
	parts := strings.Split(svc.Metadata.Annotations[endpointAnnotation], ":")
	if len(parts) != 3 || parts[0] != "http" {
		return nil, fmt.Errorf("service %s/%s has no http endpoint", namespace, name)
	}
	for _, p := range svc.Spec.Ports {
		if p.Name == parts[1] {
			return &url.URL{Scheme: "http", Host: net.JoinHostPort(svc.Spec.ClusterIP, fmt.Sprint(p.Port))}, nil
		}
	}
	return nil, fmt.Errorf("service %s/%s has no port %q", namespace, name, parts[1])
}

func (r *router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/healthz" && net.ParseIP(strings.Split(req.Host, ":")[0]) != nil {
		fmt.Fprintln(w, "ok") // the kubelet's readiness probe (by pod IP, not an app's name)
		return
	}
	target, err := r.target(req.Host)
	if err != nil {
		log.Printf("%s %s: %v", req.Host, req.URL.Path, err)
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	log.Printf("%s %s -> %s", req.Host, req.URL.Path, target)
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, req)
}

func main() {
	listen := flag.String("listen", ":8443", "address to serve HTTPS on")
	cert := flag.String("cert", "/tls/tls.crt", "serving certificate")
	key := flag.String("key", "/tls/tls.key", "serving key")
	flag.Parse()
	ca, err := os.ReadFile(accountDir + "/ca.crt")
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	api := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "kubernetes.default.svc"}},
	}
	server := "https://" + net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
	log.Printf("ingress on %s, API %s", *listen, server)
	log.Fatal(http.ListenAndServeTLS(*listen, *cert, *key, &router{api: api, server: server}))
}
