// Package workflows checks the GitHub Actions workflows in .github/workflows: actionlint passes on
// every one, cloud credentials come only from workload identity federation, and the playground
// workflow follows the branch convention of internal/playground. It has tests only.
package workflows
