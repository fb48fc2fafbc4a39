package reconcile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/runtime"
)

// containerFile is a secret or config as a container sees it: a file at
// Target with the content of a host file, an environment variable or
// inline text, owned by UID:GID with Mode. Compose ignores uid, gid and
// mode outside Swarm; berth honours them by writing the file itself.
type containerFile struct {
	Kind    string // "secrets" or "configs"
	Name    string // the key in the project
	Target  string
	File    string // a host file, or
	Env     string // the name of a variable of the project's environment, or
	Content string // the content itself
	UID     int    // -1: unset, the writer's
	GID     int    // -1: unset
	Mode    fs.FileMode
}

// containerFiles lists the secrets and configs a service's containers
// see, in the order they are declared. It is pure.
func containerFiles(p *types.Project, s types.ServiceConfig) ([]containerFile, error) {
	var out []containerFile
	var errs []error
	add := func(kind string, ref types.FileReferenceConfig, obj types.FileObjectConfig, ok bool, defTarget string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s %s is not declared", strings.TrimSuffix(kind, "s"), ref.Source))
			return
		}
		if bool(obj.External) {
			return // a Swarm object: nothing berth can mount
		}
		f := containerFile{Kind: kind, Name: ref.Source, Target: ref.Target, File: obj.File, Env: obj.Environment, Content: obj.Content, Mode: 0o444}
		if f.Target == "" {
			f.Target = defTarget
		}
		if kind == "secrets" && !path.IsAbs(f.Target) {
			f.Target = "/run/secrets/" + f.Target
		}
		if ref.Mode != nil {
			f.Mode = fs.FileMode(*ref.Mode) & fs.ModePerm
		}
		var err error
		if f.UID, err = numericID(ref.UID); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: uid %q: %w", kind, ref.Source, ref.UID, err))
		}
		if f.GID, err = numericID(ref.GID); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: gid %q: %w", kind, ref.Source, ref.GID, err))
		}
		if strings.ContainsAny(f.Name, `/\`) || f.Name == ".." || f.Name == "." {
			errs = append(errs, fmt.Errorf("%s %q: not a usable name", kind, f.Name))
		}
		out = append(out, f)
	}
	for _, ref := range s.Secrets {
		obj, ok := p.Secrets[ref.Source]
		add("secrets", types.FileReferenceConfig(ref), types.FileObjectConfig(obj), ok, ref.Source)
	}
	for _, ref := range s.Configs {
		obj, ok := p.Configs[ref.Source]
		add("configs", types.FileReferenceConfig(ref), types.FileObjectConfig(obj), ok, "/"+ref.Source)
	}
	return out, errors.Join(errs...)
}

func numericID(s string) (int, error) {
	if s == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("want a numeric id")
	}
	return n, nil
}

// fileMounts are the read-only bind mounts of a container's secrets and
// configs. With dir (the container's own directory of files) every one is
// mounted from there, where Apply writes it; without, only those backed by
// a host file are, straight from it, and owner and mode are the file's.
func fileMounts(files []containerFile, dir string) []runtime.Mount {
	var out []runtime.Mount
	for _, f := range files {
		src := f.File
		if dir != "" {
			src = filepath.Join(dir, f.Kind, f.Name)
		}
		if src == "" {
			continue
		}
		out = append(out, runtime.Mount{Type: types.VolumeTypeBind, Source: src, Target: f.Target, ReadOnly: true})
	}
	return out
}

// writeFiles writes a container's secrets and configs under dir, with
// their owner and mode. The directory is the container's alone: it is
// replaced as a whole.
func writeFiles(p *types.Project, files []containerFile, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, f := range files {
		var data []byte
		switch {
		case f.File != "":
			b, err := os.ReadFile(f.File)
			if err != nil {
				return fmt.Errorf("%s %s: %w", f.Kind, f.Name, err)
			}
			data = b
		case f.Env != "":
			v, ok := p.Environment[f.Env]
			if !ok {
				return fmt.Errorf("%s %s: environment variable %s is not set", f.Kind, f.Name, f.Env)
			}
			data = []byte(v)
		default:
			data = []byte(f.Content)
		}
		target := filepath.Join(dir, f.Kind, f.Name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Write(target, data, f.Mode); err != nil {
			return fmt.Errorf("%s %s: %w", f.Kind, f.Name, err)
		}
		// atomicfile honours the umask; the mode asked for is exact.
		if err := os.Chmod(target, f.Mode); err != nil {
			return err
		}
		if f.UID < 0 && f.GID < 0 {
			continue
		}
		if err := os.Lchown(target, f.UID, f.GID); err != nil {
			return fmt.Errorf("%s %s: %w", f.Kind, f.Name, err)
		}
	}
	return nil
}

// WriteFiles writes the secrets and configs of a one-off container of a
// service (RunConfig with RunOptions.FilesDir) under filesDir/<container>,
// as Apply does for the containers it creates. RemoveFiles removes them.
func WriteFiles(p *types.Project, service, filesDir, container string) error {
	files, err := containerFiles(p, p.Services[service])
	if err != nil {
		return err
	}
	return writeFiles(p, files, filesDirOf(filesDir, container))
}

// RemoveFiles removes what WriteFiles wrote.
func RemoveFiles(filesDir, container string) error {
	if dir := filesDirOf(filesDir, container); dir != "" {
		return os.RemoveAll(dir)
	}
	return nil
}

// filesDirOf is a container's own directory of files under dir, "" if dir is.
func filesDirOf(dir, container string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, container)
}
