// Runs PROGRAM ARGS... with os/exec and an empty environment, then prints how it ended. Go
// binaries are static and start programs with raw clone and execve system calls: neither a
// hook nor the load check ever sees what this starts.
package main

import (
	"fmt"
	"os"
	"os/exec"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Env = []string{}
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	fmt.Printf("go child: %v\n", err)
}
