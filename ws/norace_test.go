//go:build !race

package ws

// raceEnabled: the race detector inflates memory, so figures are only logged.
const raceEnabled = false
