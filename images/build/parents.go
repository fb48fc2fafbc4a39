package build

import (
	"fmt"
	"path"
	"strings"
)

// COPY --parents (BuildKit's labs syntax): each source keeps its path
// below the tree's root, or below a "/./" pivot in it, under the
// destination directory, as `cp --parents` or `rsync --relative`; the
// parent directories it keeps are copied with their own metadata.

// parentsDest is the destination directory of COPY --parents: always a
// directory.
func parentsDest(raw string) string {
	if strings.HasSuffix(raw, "/") {
		return raw
	}
	return raw + "/"
}

// parentsGroups plans COPY --parents of sources from src into the
// directory dest: a group per match, holding the directories between the
// pivot and the match, then the match (and what is under it that exclude
// keeps).
func parentsGroups(src *source, sources []string, dest string, exclude []string) ([]copyGroup, error) {
	var groups []copyGroup
	for _, s := range sources {
		clean := strings.TrimPrefix(path.Clean("/"+s), "/")
		base := ""
		if i := strings.Index(s, "/./"); i >= 0 {
			base = strings.TrimPrefix(path.Clean("/"+s[:i]), "/")
			clean = strings.TrimPrefix(path.Clean("/"+s[:i]+"/"+s[i+3:]), "/")
		}
		if clean == "" {
			clean = "."
		}
		matches, err := src.match(clean)
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			kept := m
			if base != "" {
				if kept = strings.TrimPrefix(m, base+"/"); kept == m {
					return nil, fmt.Errorf("%s: %s is not below %s", s, m, base)
				}
			}
			var g copyGroup
			g.dest = dest
			var dirs []string
			for d := path.Dir(kept); d != "."; d = path.Dir(d) {
				dirs = append([]string{d}, dirs...)
			}
			for _, d := range dirs {
				rel := path.Join(base, d)
				fi, err := src.root.Stat(rel)
				if err != nil {
					return nil, fmt.Errorf("%s in %s: %w", rel, src.name, err)
				}
				g.entries = append(g.entries, entry{rel: rel, dest: path.Join(dest, d), info: fi})
			}
			es, err := src.walk(m, path.Join(dest, kept))
			if err != nil {
				return nil, err
			}
			if es, err = excludeBelow(es, m, exclude); err != nil {
				return nil, err
			}
			g.entries = append(g.entries, es...)
			groups = append(groups, g)
		}
	}
	return groups, nil
}
