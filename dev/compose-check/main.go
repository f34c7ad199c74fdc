// Command compose-check validates a Compose file against the Compose Specification with the
// same library Docker Compose v2 uses (compose-go), so CI can check docker-compose.yml on a
// machine without a Docker engine.
//
//	go run . ../../docker-compose.yml
//
// It loads the file with schema validation, interpolation, normalisation and the consistency
// checks (references between services, volumes and networks) enabled, then checks that every
// local file the file points at exists: build contexts, Dockerfiles and bind-mounted sources.
// Variables the file requires (${NAME:?message}) get placeholder values; any other variable is
// left unset so that its default in the file is what gets validated. Exits 1 with the reason
// when the file is invalid.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// placeholderEnv holds a value for every variable docker-compose.yml requires. A new required
// variable shows up as "required variable X is missing a value": add it here.
var placeholderEnv = []string{
	"TELEGRAM_BOT_TOKEN=123456789:compose-check-placeholder",
	"USER_HASH_SECRET=compose-check-placeholder-secret",
}

func main() {
	path := "docker-compose.yml"
	switch len(os.Args) {
	case 1:
	case 2:
		path = os.Args[1]
	default:
		fmt.Fprintln(os.Stderr, "usage: compose-check [path/to/docker-compose.yml]")
		os.Exit(2)
	}
	project, err := load(context.Background(), path)
	if err == nil {
		err = checkLocalFiles(project)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %s is invalid:\n%v\n", path, err)
		os.Exit(1)
	}
	fmt.Printf("compose-check: %s is valid (services: %v)\n", path, project.ServiceNames())
}

func load(ctx context.Context, path string) (*types.Project, error) {
	absPath, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(absPath); err != nil {
		return nil, err
	}
	options, err := cli.NewProjectOptions(
		[]string{absPath},
		cli.WithName("farmflow"),
		cli.WithWorkingDirectory(filepath.Dir(absPath)),
		// Deliberately no WithOsEnv or .env file: the result must not depend on the machine.
		cli.WithEnv(placeholderEnv),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
		cli.WithLoadOptions(func(o *loader.Options) {
			o.SkipValidation = false
		}),
	)
	if err != nil {
		return nil, err
	}
	return options.LoadProject(ctx)
}

// checkLocalFiles reports build contexts, Dockerfiles and bind mount sources that do not exist:
// the specification allows them, but `docker compose up` would fail (or, for a bind mount,
// silently mount an empty directory in place of a missing file).
func checkLocalFiles(project *types.Project) error {
	var problems []error
	names := project.ServiceNames()
	sort.Strings(names)
	for _, name := range names {
		service := project.Services[name]
		if build := service.Build; build != nil {
			if err := mustExist(build.Context, true); err != nil {
				problems = append(problems, fmt.Errorf("service %s: build context: %w", name, err))
			} else if build.DockerfileInline == "" {
				dockerfile := build.Dockerfile
				if dockerfile == "" {
					dockerfile = "Dockerfile"
				}
				if !filepath.IsAbs(dockerfile) {
					dockerfile = filepath.Join(build.Context, dockerfile)
				}
				if err := mustExist(dockerfile, false); err != nil {
					problems = append(problems, fmt.Errorf("service %s: dockerfile: %w", name, err))
				}
			}
		}
		for _, volume := range service.Volumes {
			if volume.Type != types.VolumeTypeBind {
				continue
			}
			if err := mustExist(volume.Source, false); err != nil {
				problems = append(problems, fmt.Errorf("service %s: bind mount for %s: %w", name, volume.Target, err))
			}
		}
	}
	return errors.Join(problems...)
}

func mustExist(path string, wantDir bool) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if wantDir && !info.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	return nil
}
