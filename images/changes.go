package images

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ApplyChanges applies Dockerfile instructions, as `docker import -c` and
// `docker commit -c` take them, to cfg: CMD, ENTRYPOINT, ENV, WORKDIR, USER,
// EXPOSE, LABEL, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL and ONBUILD. CMD,
// ENTRYPOINT, VOLUME and SHELL take the JSON form or the shell form (run by
// the image's shell, /bin/sh -c by default); ENV and LABEL take key=value
// pairs with quotes, or ENV's legacy "KEY value". Variables are not
// expanded. As in a Dockerfile, ENTRYPOINT clears an inherited CMD unless
// a CMD comes earlier in the same changes. Every bad change is reported,
// classified errdefs.ErrInvalidArgument.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	var problems []string
	cmdSet := false
	for _, ch := range changes {
		if err := applyChange(cfg, strings.TrimSpace(ch), &cmdSet); err != nil {
			problems = append(problems, fmt.Sprintf("%q: %v", ch, err))
		}
	}
	if len(problems) > 0 {
		return errdefs.ErrInvalidArgument.WithMessage("invalid change " + strings.Join(problems, "; "))
	}
	return nil
}

func applyChange(cfg *v1.Config, ch string, cmdSet *bool) error {
	kw, rest := ch, ""
	if i := strings.IndexAny(ch, " \t"); i >= 0 {
		kw, rest = ch[:i], ch[i+1:]
	}
	rest = strings.TrimSpace(rest)
	kw = strings.ToUpper(kw)
	if rest == "" && kw != "" {
		return fmt.Errorf("%s needs an argument", kw)
	}
	switch kw {
	case "CMD":
		args, err := commandForm(cfg, rest)
		if err != nil {
			return err
		}
		cfg.Cmd = args
		*cmdSet = true
	case "ENTRYPOINT":
		args, err := commandForm(cfg, rest)
		if err != nil {
			return err
		}
		cfg.Entrypoint = args
		if !*cmdSet {
			cfg.Cmd = nil
		}
	case "ENV":
		pairs, err := keyValues(rest, true)
		if err != nil {
			return err
		}
		for _, kv := range pairs {
			cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
		}
	case "LABEL":
		pairs, err := keyValues(rest, false)
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range pairs {
			cfg.Labels[kv[0]] = kv[1]
		}
	case "WORKDIR":
		dir, err := oneWord(rest)
		if err != nil {
			return err
		}
		if !path.IsAbs(dir) {
			dir = path.Join("/", cfg.WorkingDir, dir)
		}
		cfg.WorkingDir = path.Clean(dir)
	case "USER":
		u, err := oneWord(rest)
		if err != nil {
			return err
		}
		cfg.User = u
	case "EXPOSE":
		words, err := splitWords(rest)
		if err != nil {
			return err
		}
		for _, w := range words {
			ports, err := exposedPorts(w)
			if err != nil {
				return err
			}
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range ports {
				cfg.ExposedPorts[p] = struct{}{}
			}
		}
	case "VOLUME":
		vols, err := listForm(rest)
		if err != nil {
			return err
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range vols {
			if v == "" {
				return errors.New("VOLUME with an empty path")
			}
			cfg.Volumes[v] = struct{}{}
		}
	case "STOPSIGNAL":
		sig, err := oneWord(rest)
		if err != nil {
			return err
		}
		cfg.StopSignal = sig
	case "SHELL":
		if !strings.HasPrefix(rest, "[") {
			return errors.New("SHELL takes the JSON form")
		}
		sh, err := listForm(rest)
		if err != nil {
			return err
		}
		cfg.Shell = sh
	case "ONBUILD":
		cfg.OnBuild = append(cfg.OnBuild, rest)
	case "HEALTHCHECK":
		hc, err := healthcheck(cfg, rest)
		if err != nil {
			return err
		}
		cfg.Healthcheck = hc
	default:
		return fmt.Errorf("unknown or unsupported instruction %q", kw)
	}
	return nil
}

// commandForm parses the JSON form or wraps the shell form in the shell.
func commandForm(cfg *v1.Config, s string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		var args []string
		if err := json.Unmarshal([]byte(s), &args); err == nil {
			return args, nil
		}
		// Docker treats a malformed JSON form as shell form.
	}
	shell := cfg.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, shell...), s), nil
}

// listForm parses a JSON array or whitespace-separated words.
func listForm(s string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		var out []string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, fmt.Errorf("bad JSON list: %v", err)
		}
		return out, nil
	}
	return splitWords(s)
}

func oneWord(s string) (string, error) {
	w, err := splitWords(s)
	if err != nil {
		return "", err
	}
	if len(w) != 1 {
		return "", errors.New("takes exactly one argument")
	}
	return w[0], nil
}

// splitWords splits s at unquoted whitespace, honouring '...', "..." and
// backslash escapes, as the Dockerfile parser does for ENV and LABEL.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped = true
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if escaped {
		cur.WriteRune('\\')
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// keyValues parses "k=v k2='v 2'", or with legacy set "KEY some value".
func keyValues(s string, legacy bool) ([][2]string, error) {
	first, _, _ := strings.Cut(s, " ")
	if legacy && !strings.Contains(first, "=") {
		k, v, _ := strings.Cut(s, " ")
		words, err := splitWords(strings.TrimSpace(v))
		if err != nil {
			return nil, err
		}
		return [][2]string{{k, strings.Join(words, " ")}}, nil
	}
	words, err := splitWords(s)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// exposedPorts parses "80", "80/udp" or "8000-8002/tcp".
func exposedPorts(w string) ([]string, error) {
	ports, proto, ok := strings.Cut(w, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("bad protocol in %q", w)
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port %q", w)
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
			return nil, fmt.Errorf("bad port range %q", w)
		}
	}
	var out []string
	for p := start; p <= end; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// healthcheck parses "NONE" or "[--interval=D] [--timeout=D]
// [--start-period=D] [--retries=N] CMD command".
func healthcheck(cfg *v1.Config, s string) (*v1.HealthConfig, error) {
	if strings.EqualFold(strings.TrimSpace(s), "NONE") {
		return &v1.HealthConfig{Test: []string{"NONE"}}, nil
	}
	hc := &v1.HealthConfig{}
	for strings.HasPrefix(s, "--") {
		opt, rest, _ := strings.Cut(s, " ")
		s = strings.TrimSpace(rest)
		k, v, ok := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
		if !ok {
			return nil, fmt.Errorf("bad HEALTHCHECK option %q", opt)
		}
		var err error
		switch k {
		case "interval":
			hc.Interval, err = time.ParseDuration(v)
		case "timeout":
			hc.Timeout, err = time.ParseDuration(v)
		case "start-period":
			hc.StartPeriod, err = time.ParseDuration(v)
		case "retries":
			hc.Retries, err = strconv.Atoi(v)
		default:
			err = errors.New("unknown option")
		}
		if err != nil {
			return nil, fmt.Errorf("bad HEALTHCHECK option %q: %v", opt, err)
		}
	}
	kw, rest, _ := strings.Cut(s, " ")
	if !strings.EqualFold(kw, "CMD") || strings.TrimSpace(rest) == "" {
		return nil, errors.New("HEALTHCHECK needs CMD and a command")
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "[") {
		var args []string
		if err := json.Unmarshal([]byte(rest), &args); err == nil {
			hc.Test = append([]string{"CMD"}, args...)
			return hc, nil
		}
	}
	hc.Test = []string{"CMD-SHELL", rest}
	return hc, nil
}
