package cli

// Run exposes run to the external test package, so end-to-end tests can
// capture a command's output.
var Run = run
