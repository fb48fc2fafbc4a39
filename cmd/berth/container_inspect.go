package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
)

func newContainerInspectCmd(g *globals, use string) *cobra.Command {
	var (
		format string
		size   bool
	)
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			var docs []*runc.Inspect
			failed := false
			for _, ref := range args {
				in, err := rt.Inspect(cmd.Context(), ref, size)
				if err != nil {
					if errdefs.IsNotFound(err) {
						// Docker's text, capitalised; a class, not a format string.
						err = errdefs.ErrNotFound.WithMessage("No such container: " + ref)
					}
					fmt.Fprintln(cmd.ErrOrStderr(), "berth:", err)
					failed = true
					continue
				}
				docs = append(docs, in)
			}
			if err := writeInspect(cmd.OutOrStdout(), format, docs, jsonView); err != nil {
				return err
			}
			if failed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template: 'json' or a Go template")
	cmd.Flags().BoolVarP(&size, "size", "s", false, "Display total file sizes")
	return cmd
}

// writeInspect prints inspect documents as docker inspect does: an indented
// JSON array (empty, not null, when nothing was found) for "" or "json",
// else the Go template format once per document, on what view makes of it
// (the document itself when view is nil). container and image inspect share
// it.
func writeInspect[T any](out io.Writer, format string, docs []T, view func(T) any) error {
	if format == "" || format == "json" {
		if docs == nil {
			docs = []T{}
		}
		b, err := json.MarshalIndent(docs, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, string(b))
		return err
	}
	tmpl, err := parseImageTemplate(format)
	if err != nil {
		return err
	}
	for _, d := range docs {
		var v any = d
		if view != nil {
			v = view(d)
		}
		if err := tmpl.Execute(out, v); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(out)
	}
	return nil
}

// jsonView is the JSON document a container template sees, so that
// {{.State.Status}} and {{json .Config}} behave as in Docker.
func jsonView(d *runc.Inspect) any {
	var v any
	b, _ := json.Marshal(d)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // 67108864, not 6.7108864e+07
	_ = dec.Decode(&v)
	return v
}

func newTopCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			out, err := rt.Top(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func newPortCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			rec, st, err := rt.State(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var live []runtime.PortBinding
			if att, err := rt.NetworkState(cmd.Context(), rec.ID); err == nil && runc.Active(st.Status) {
				live = att.Ports
			}
			want := ""
			if len(args) == 2 {
				want = args[1]
				if !strings.Contains(want, "/") {
					want += "/tcp"
				}
			}
			found := false
			for _, p := range live {
				if want != "" && fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol) != want {
					continue
				}
				found = true
				line := cni.FormatPort(p)
				if want != "" {
					_, line, _ = strings.Cut(line, " -> ")
				}
				fmt.Fprintln(cmd.OutOrStdout(), line)
			}
			if want != "" && !found {
				return fmt.Errorf("no public port '%s' published for %s", want, rec.Name)
			}
			return nil
		},
	}
}
