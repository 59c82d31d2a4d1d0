//go:build early

package subscribe

// The early build subscribes here: no package that the floor imports
// waits for this one, so nothing but the packages os/signal needs runs
// between the runtime's handlers and the subscription.
func init() { Early = Now() }
