// Package reconcile converges a stack: Observe reads what exists, Plan (a
// pure function of the desired project, the observed state and options)
// decides every operation and its cause, and Apply executes a plan with no
// decisions of its own, in dependency order and in parallel where the graph
// allows.
//
// It depends on the concept interfaces (runtime, network, volumes, images)
// only, never on their implementations, and it never touches a container,
// network or volume that does not carry the stack's io.berth.stack label.
// See docs/reconcile.md.
package reconcile
