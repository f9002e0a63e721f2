// Package toolscript holds the tests of the shell scripts `make up` and `make test` run before
// any Go code: scripts/tools.sh (which tools it builds, and which it takes from the machine) and
// scripts/step.sh (the progress lines and the table of step times).
package toolscript
