package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const repoCompose = "../../docker-compose.yml"

func validate(t *testing.T, path string) error {
	t.Helper()
	project, err := load(context.Background(), path)
	if err != nil {
		return err
	}
	return checkLocalFiles(project)
}

func TestRepositoryComposeFileIsValid(t *testing.T) {
	if err := validate(t, repoCompose); err != nil {
		t.Fatal(err)
	}
}

// brokenCopy writes the repository's compose file, changed by edit, into a temporary directory
// together with the files it references, so that only the edit can make it invalid.
func brokenCopy(t *testing.T, edit func(string) string) string {
	t.Helper()
	original, err := os.ReadFile(repoCompose)
	if err != nil {
		t.Fatal(err)
	}
	changed := edit(string(original))
	if changed == string(original) {
		t.Fatal("the edit did not change the compose file; update the test")
	}
	dir := t.TempDir()
	repo := filepath.Dir(repoCompose)
	dockerfile, err := os.ReadFile(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "deploy"), os.DirFS(filepath.Join(repo, "deploy"))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRejectsInvalidFiles(t *testing.T) {
	cases := map[string]struct {
		edit func(string) string
		want string
	}{
		"unknown key": {
			edit: func(s string) string {
				return strings.Replace(s, "\n  redis:\n", "\n  redis:\n    no_such_key: 1\n", 1)
			},
			want: "no_such_key",
		},
		"dependency on a missing service": {
			edit: func(s string) string {
				return strings.Replace(s, "\n      postgres:\n", "\n      no-such-service:\n", 1)
			},
			want: "no-such-service",
		},
		"wrong value type": {
			edit: func(s string) string { return strings.Replace(s, "retries: 30", "retries: many", 1) },
			want: "retries",
		},
		"missing bind-mounted file": {
			edit: func(s string) string {
				return strings.Replace(s, "dynamicconfig.yaml:", "no-such-file.yaml:", 1)
			},
			want: "no-such-file.yaml",
		},
		"required variable without a placeholder": {
			edit: func(s string) string {
				return strings.Replace(s, "${LOG_LEVEL:-info}", "${LOG_LEVEL:?set LOG_LEVEL}", 1)
			},
			want: "LOG_LEVEL",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := validate(t, brokenCopy(t, tc.edit))
			if err == nil {
				t.Fatal("accepted an invalid compose file")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not mention %q: %v", tc.want, err)
			}
		})
	}
}
