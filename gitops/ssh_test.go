package gitops

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshGitServer serves git-upload-pack over ssh on 127.0.0.1 to clients
// holding the key allowed; it returns its address and host key.
func sshGitServer(t *testing.T, allowed ssh.PublicKey) (string, ssh.PublicKey) {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) == string(allowed.Marshal()) {
			return nil, nil
		}
		return nil, fmt.Errorf("unknown key")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSSH(c, cfg)
		}
	}()
	return ln.Addr().String(), signer.PublicKey()
}

func serveSSH(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for r := range creqs {
				if r.Type != "exec" {
					r.Reply(false, nil)
					continue
				}
				// payload: uint32 length + "git-upload-pack '/path'"
				command := string(r.Payload[4:])
				r.Reply(true, nil)
				name, arg, _ := strings.Cut(command, " ")
				cmd := exec.Command("git", strings.TrimPrefix(name, "git-"), strings.Trim(arg, "'"))
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				code := 0
				if err := cmd.Run(); err != nil {
					code = 1
				}
				status := make([]byte, 4)
				binary.BigEndian.PutUint32(status, uint32(code))
				ch.SendRequest("exit-status", false, status)
				return
			}
		}()
	}
}

func TestRepoUpdateSSH(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	url, work, dir, push := remote(t)
	c1 := commitFiles(t, work, dir, map[string]string{"web/compose.yaml": "services: {}\n"})
	push()
	bare := strings.TrimPrefix(url, "file://")

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	addr, hostKey := sshGitServer(t, sshPub)
	secrets := t.TempDir()
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(secrets, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	knownHosts := filepath.Join(secrets, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(knownhosts.Line([]string{addr}, hostKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	authFile := filepath.Join(secrets, "auth")
	if err := os.WriteFile(authFile, []byte("ssh_key_file="+keyFile+"\nknown_hosts="+knownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repoURL := "ssh://git@" + addr + bare
	auth, err := ReadAuth(authFile, repoURL)
	if err != nil {
		t.Fatal(err)
	}
	r := &Repo{URL: repoURL, Auth: auth, Dir: StateDir(t.TempDir(), "ssh")}
	got, err := r.Update(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got != c1.String() {
		t.Errorf("commit %s, want %s", got, c1)
	}

	// An unknown host key is refused.
	other := filepath.Join(secrets, "other_hosts")
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	op, _ := ssh.NewSignerFromKey(otherKey)
	os.WriteFile(other, []byte(knownhosts.Line([]string{addr}, op.PublicKey())+"\n"), 0o600)
	os.WriteFile(authFile, []byte("ssh_key_file="+keyFile+"\nknown_hosts="+other+"\n"), 0o600)
	auth, err = ReadAuth(authFile, repoURL)
	if err != nil {
		t.Fatal(err)
	}
	r = &Repo{URL: repoURL, Auth: auth, Dir: StateDir(t.TempDir(), "ssh")}
	if _, err := r.Update(t.Context()); err == nil {
		t.Error("a server with an unknown host key was trusted")
	}
}
