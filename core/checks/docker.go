package checks

import (
	"context"
	"fmt"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/beacon-sd/beacon/core/structs"
)

var (
	dockerOnce   sync.Once
	dockerClient *client.Client
	dockerErr    error
)

// docker returns the engine client (DOCKER_HOST, default the local socket),
// negotiating the API version so old and new engines both work.
func docker() (*client.Client, error) {
	dockerOnce.Do(func() {
		dockerClient, dockerErr = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	})
	return dockerClient, dockerErr
}

// DockerProbe runs def.ScriptArgs (or def.Script through def.Shell, default
// /bin/sh) inside the container def.DockerContainerID through the engine's
// exec API, with the same exit-code rules as a script check.
func DockerProbe(def *structs.CheckDefinition) (Probe, error) {
	cmd := def.ScriptArgs
	if len(cmd) == 0 {
		shell := def.Shell
		if shell == "" {
			shell = "/bin/sh"
		}
		cmd = []string{shell, "-c", def.Script}
	}
	id := def.DockerContainerID
	return func(ctx context.Context) (string, string) {
		cli, err := docker()
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("Docker engine: %v", err)
		}
		ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("Docker exec in %s: %v", id, err)
		}
		att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("Docker exec in %s: %v", id, err)
		}
		var out limitedBuffer
		_, err = stdcopy.StdCopy(&out, &out, att.Reader)
		att.Close()
		if err != nil && ctx.Err() != nil {
			return structs.HealthCritical, fmt.Sprintf("Timed out running check in %s: %s", id, out.String())
		}
		insp, err := cli.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			return structs.HealthCritical, fmt.Sprintf("Docker exec in %s: %v", id, err)
		}
		switch insp.ExitCode {
		case 0:
			return structs.HealthPassing, out.String()
		case 1:
			return structs.HealthWarning, out.String()
		}
		return structs.HealthCritical, out.String()
	}, nil
}
