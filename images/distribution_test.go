//go:build !lean

package images

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// testCA writes a CA and a server certificate for names into dir and
// returns the paths of the CA certificate, the server certificate and its key.
func testCA(t *testing.T, dir string, dnsNames []string, ips []net.IP) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: dnsNames[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: dnsNames, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.crt", "CERTIFICATE", caDER), write("server.crt", "CERTIFICATE", srvDER), write("server.key", "EC PRIVATE KEY", keyDER)
}

func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestDistributionRegistry runs the distribution project's registry (Debian's
// docker-registry package) on loopback with htpasswd auth behind TLS with a
// test CA. It skips when docker-registry or htpasswd is not installed.
func TestDistributionRegistry(t *testing.T) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry not installed (apt-get install docker-registry apache2-utils)")
	}
	htpasswd, err := exec.LookPath("htpasswd")
	if err != nil {
		t.Skip("htpasswd not installed (apt-get install apache2-utils)")
	}
	work := t.TempDir()
	port := freeLoopbackPort(t)
	host := "registry.test:" + port
	ca, cert, key := testCA(t, work, []string{"registry.test"}, []net.IP{net.ParseIP("127.0.0.1")})
	out, err := exec.Command(htpasswd, "-Bbn", "carol", "pa55").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, "htpasswd"), out, 0o600)
	cfg := fmt.Sprintf(`version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: %s}
http:
  addr: 127.0.0.1:%s
  tls: {certificate: %s, key: %s}
auth:
  htpasswd: {realm: berth-test, path: %s}
`, filepath.Join(work, "data"), port, cert, key, filepath.Join(work, "htpasswd"))
	os.WriteFile(filepath.Join(work, "config.yml"), []byte(cfg), 0o600)
	cmd := exec.Command(bin, "serve", filepath.Join(work, "config.yml"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("docker-registry did not start: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	certs := filepath.Join(work, "certs.d")
	os.MkdirAll(filepath.Join(certs, host), 0o755)
	data, _ := os.ReadFile(ca)
	os.WriteFile(filepath.Join(certs, host, "ca.crt"), data, 0o644)
	r := testRegistries(t, RegistryConfig{CertsDir: certs}, map[string]string{host: "127.0.0.1:" + port})

	if _, err := r.Login(t.Context(), host, "carol", "wrong"); err == nil || !errdefs.IsUnauthorized(err) {
		t.Errorf("bad password: %v", err)
	}
	s, _ := testStore(t)
	importTar(t, s, host+"/dist/app:1", makeTar(t, dir("etc"), file("etc/os-release", "ID=test")))
	if _, err := r.Push(t.Context(), s, host+"/dist/app:1", PushOptions{}); err == nil || !errdefs.IsUnauthorized(err) {
		t.Errorf("push before login: %v", err)
	}
	if _, err := r.Login(t.Context(), host, "carol", "pa55"); err != nil {
		t.Fatalf("login: %v", err)
	}
	pushed, err := r.Push(t.Context(), s, host+"/dist/app:1", PushOptions{})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	b, _ := testStore(t)
	pulled, err := r.Pull(t.Context(), b, host+"/dist/app:1", PullOptions{})
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if pulled.Digest != pushed.Digest {
		t.Errorf("pulled digest %s, pushed %s", pulled.Digest, pushed.Digest)
	}
	// A resumed download's Range request goes through the same
	// credentials and certificates, and docker-registry honours it.
	im, _ := b.Image(t.Context(), pulled.Ref)
	l := im.Layers[0]
	ref, _ := r.parse(pulled.Ref)
	rc, start, err := r.fetchBlobFrom(t.Context(), ref.Context(), l.Digest, 10, l.BlobSize)
	if err != nil || start != 10 {
		t.Fatalf("range fetch: start %d, %v", start, err)
	}
	rest, _ := io.ReadAll(rc)
	rc.Close()
	whole, _ := os.ReadFile(b.BlobPath(l.Digest))
	if !bytes.Equal(rest, whole[10:]) {
		t.Errorf("range fetch gave %d bytes, not the blob's last %d", len(rest), len(whole)-10)
	}
	found, err := r.Search(t.Context(), host+"/dist", 0)
	if err != nil || len(found) != 1 || found[0].Name != host+"/dist/app" {
		t.Errorf("catalog search: %v %v", found, err)
	}
	if _, had, err := r.Logout(host); !had || err != nil {
		t.Errorf("logout: %v %v", had, err)
	}
	c, _ := testStore(t)
	if _, err := r.Pull(t.Context(), c, host+"/dist/app:1", PullOptions{}); !errdefs.IsUnauthorized(err) {
		t.Errorf("pull after logout: %v", err)
	}
}
